// The document schema: ProseMirror's basic schema (paragraph, heading 1–6, blockquote, code
// block, horizontal rule, hard break, image; strong, em, code, link) plus bullet and ordered
// lists. y-prosemirror stores it in the Y.XmlFragment named ROOT: each node is a Y.XmlElement
// named after the node type with its attrs as XML attributes, text is a Y.XmlText whose
// formatting attributes are the mark names.
import { Schema } from 'prosemirror-model'
import { schema as basic } from 'prosemirror-schema-basic'
import { addListNodes } from 'prosemirror-schema-list'

/** ROOT is the name of the Y.XmlFragment that holds the document in every Tandem doc. */
export const ROOT = 'prosemirror'

/** AUTHORS is the name of the Y.Map from Yjs client id (decimal string) to {name, color}. */
export const AUTHORS = 'authors'

/** schema is the editor's ProseMirror schema. */
export const schema = new Schema({
  nodes: addListNodes(basic.spec.nodes, 'paragraph block*', 'block'),
  marks: basic.spec.marks
})
