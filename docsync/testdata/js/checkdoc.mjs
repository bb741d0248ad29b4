// checkdoc joins a document with a fresh y-websocket client and prints what the server holds:
// the length and SHA-256 of the root text "t" (what cmd/tandem-load writes), as one JSON line.
//
//   node checkdoc.mjs --url ws://127.0.0.1:PORT/sync --room NAME [--text]
import { createHash } from 'node:crypto'
import { run, client, synced, destroy } from './common.mjs'

run(async (args) => {
  if (typeof args.room !== 'string') throw new Error('missing --room')
  const c = client(args.url, args.room)
  await synced([c], 20000)
  const text = c.text.toString()
  destroy([c])
  return {
    ok: true,
    room: args.room,
    length: text.length,
    sha256: createHash('sha256').update(text).digest('hex'),
    ...(args.text ? { text } : {})
  }
})
