// Turning the server's JSON view of a document back into a ProseMirror document.
//
// GET /api/docs/<doc>/history?at=N answers {"prosemirror": …}: the root rendered the way Yjs's
// toString renders XML types, either as one string or (for a root the server has not typed) as
// a list of strings, one per top-level element. Text is not escaped there, so this parser only
// treats `<name …>` as a tag when name is a node or mark of the schema, and reads anything
// else as text.
import { schema } from './schema.js'

const TAG = /<(\/?)([A-Za-z_][A-Za-z0-9_-]*)((?:\s+[A-Za-z_][\w-]*="[^"]*")*)\s*>/g
const ATTR = /([A-Za-z_][\w-]*)="([^"]*)"/g

// y-prosemirror names overlapping marks "name--hash".
const markName = (n) => n.replace(/--[A-Za-z0-9+/=]{8}$/, '')

/** rootXML returns the XML string of the editor root in a doc JSON, or '' if absent. */
export const rootXML = (json, root) => {
  const v = json && json[root]
  if (typeof v === 'string') return v
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : '')).join('')
  return ''
}

const parseAttrs = (s) => {
  const out = {}
  for (const m of s.matchAll(ATTR)) out[m[1]] = m[2]
  return out
}

// Node attrs arrive as strings; turn numeric ones back into numbers.
const nodeAttrs = (type, raw) => {
  const out = {}
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in (type.spec.attrs || {}))) continue
    out[k] = v === 'null' ? null : (/^-?\d+$/.test(v) ? Number(v) : v)
  }
  return out
}

/**
 * xmlToDoc parses the XML string into a ProseMirror doc node, dropping what the schema cannot
 * hold. It never throws on odd input: the worst case is an empty paragraph.
 */
export const xmlToDoc = (xml) => {
  const root = { type: 'doc', content: [] }
  const stack = [root]
  const marks = []
  let last = 0
  const text = (s) => {
    if (!s) return
    const top = stack[stack.length - 1]
    top.content = top.content || []
    top.content.push({ type: 'text', text: s, marks: marks.map((m) => ({ ...m })) })
  }
  for (const m of xml.matchAll(TAG)) {
    const [whole, close, rawName, rawAttrs] = m
    const name = markName(rawName)
    const isNode = !!schema.nodes[name] && name !== 'text' && name !== 'doc'
    const isMark = !!schema.marks[name]
    if (!isNode && !isMark) continue
    text(xml.slice(last, m.index))
    last = m.index + whole.length
    if (isNode) {
      if (close) {
        if (stack.length > 1 && stack[stack.length - 1].type === name) stack.pop()
      } else {
        const node = { type: name, attrs: nodeAttrs(schema.nodes[name], parseAttrs(rawAttrs || '')), content: [] }
        const top = stack[stack.length - 1]
        top.content.push(node)
        if (!schema.nodes[name].isLeaf) stack.push(node)
      }
    } else if (close) {
      const i = marks.map((x) => x.type).lastIndexOf(name)
      if (i >= 0) marks.splice(i, 1)
    } else {
      const attrs = {}
      for (const [k, v] of Object.entries(parseAttrs(rawAttrs || ''))) attrs[k] = v === 'null' ? null : v
      // A document is written by its peers: keep only links that cannot run script.
      if (name === 'link' && !/^(https?:|mailto:|#|\/)/i.test(attrs.href || '')) attrs.href = '#'
      marks.push(Object.keys(attrs).length ? { type: name, attrs } : { type: name })
    }
  }
  text(xml.slice(last))
  return build(root)
}

// build turns the loose JSON tree into a node, or keeps just the text when it does not fit
// the schema.
const build = (json) => {
  try {
    const node = schema.nodeFromJSON(json)
    node.check()
    return node
  } catch (_) {
    return fallback(json)
  }
}

// fallback keeps the text, one paragraph per top-level block.
const fallback = (json) => {
  const blocks = []
  const textOf = (n) => (n.type === 'text' ? n.text : (n.content || []).map(textOf).join(''))
  for (const b of json.content || []) {
    const t = textOf(b)
    blocks.push(schema.node('paragraph', null, t ? [schema.text(t)] : []))
  }
  if (blocks.length === 0) blocks.push(schema.node('paragraph'))
  return schema.node('doc', null, blocks)
}
