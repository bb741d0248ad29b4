// Package web is Tandem's browser editor: the built front end, embedded with go:embed, and an
// http.Handler that serves it, so running the server needs no Node.
//
// # Model
//
// The front end is a small single-page app built from src/ with esbuild (`npm run build`
// writes dist/, which is committed; check-build.sh fails when dist/ is stale). It has two
// pages: "/" lists the stored documents (GET /api/docs) and starts new ones; "/d/<doc>" is a
// ProseMirror editor bound to Yjs with y-prosemirror (ySyncPlugin, yCursorPlugin,
// yUndoPlugin) and synced through the stock y-websocket provider at ws://HOST/sync/<doc>.
// Handler serves index.html for both routes and the hashed files under /assets/ with
// long-lived cache headers.
//
// Each document keeps its content in the Y.XmlFragment named "prosemirror" (the y-prosemirror
// default), so any other y-prosemirror or Tiptap client that uses that name edits the same
// text. Nodes follow ProseMirror's basic schema plus bullet_list, ordered_list and list_item.
// The Y.Map named "authors" maps each Yjs client id (decimal string) to {name, color} of the
// person who used it; the editor writes its entry on its first edit so the history panel can
// name who made each change (one small entry per editing session, as each page load is a new
// Yjs client). Presence (name, colour, cursor) travels in awareness states as
// {user: {name, color, colorLight}, cursor: {anchor, head}}, the fields y-prosemirror uses.
//
// The history panel reads GET /api/docs/<doc>/history (the op log) and
// GET /api/docs/<doc>/history?at=SEQ (the content then) from the sync server.
//
// # Concurrency
//
// Handler is safe for concurrent use; the embedded files are read-only.
//
// # Caveats
//
// The past-version view parses the server's XML string of the root (Yjs's toString format,
// which does not escape text), so text that looks exactly like a tag of the schema, such as
// "<strong>", shows without its brackets there. The live editor is not affected.
package web
