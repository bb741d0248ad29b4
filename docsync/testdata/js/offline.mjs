// Scenario (b): a client goes offline (provider.disconnect()), keeps editing, while the others
// edit too; it reconnects. Nothing may be lost: all clients converge to a text holding every
// edit, and a fresh client gets the same text from the server.
//
//   node offline.mjs --url ws://127.0.0.1:PORT/sync
import { run, client, roomName, synced, converged, freshState, destroy, sleep, waitFor, canonical } from './common.mjs'

run(async (args) => {
  const room = roomName('offline')
  const [a, b, c] = [client(args.url, room), client(args.url, room), client(args.url, room)]
  const all = [a, b, c]
  await synced(all)
  a.text.insert(0, 'base text. ')
  a.doc.getMap('m').set('title', 'before')
  await converged(all, 10000, (s) => s === 'base text. ')

  a.provider.disconnect()
  await waitFor(() => !a.provider.wsconnected, 5000, 'a disconnected')
  // Offline edits on a: appends, an insert in the middle, a deletion and a map write.
  for (let i = 0; i < 20; i++) {
    a.text.insert(a.text.length, 'A' + (i % 10))
    await sleep(2)
  }
  a.text.insert(4, '<offline>')
  a.text.delete(0, 1) // removes the leading "b"
  a.doc.getMap('m').set('offline', true)
  // Meanwhile b and c keep typing online.
  for (let i = 0; i < 20; i++) {
    b.text.insert(b.text.length, 'B')
    c.text.insert(0, 'C')
    await sleep(2)
  }
  // b and c end with the base text plus their 40 characters (b's text read right after its
  // loop may still lack some of c's characters in flight).
  await converged([b, c], 10000, (s) => s.length === 'base text. '.length + 40)
  const aOffline = a.text.toString()

  const reconnectStart = Date.now()
  a.provider.connect()
  await synced([a], 10000)
  const expectLen = aOffline.length + 40 // b's and c's 40 characters are new to a
  const convergeMs = await converged(all, 10000, (s) => s.length === expectLen)
  const text = a.text.toString()
  const m = a.doc.getMap('m').toJSON()
  const mapsAgree = all.every((x) => canonical(x.doc.getMap('m').toJSON()) === canonical(m))
  const server = await freshState(args.url, room)
  destroy(all)
  const countOf = (s, ch) => [...s].filter((x) => x === ch).length
  const checks = {
    hasOfflineInsert: text.includes('<offline>'),
    offlineDeleteKept: !text.includes('base text'), // "b" deleted offline
    allAppendsFromA: countOf(text, 'A') === 20,
    allFromB: countOf(text, 'B') === 20,
    allFromC: countOf(text, 'C') === 20,
    mapMerged: m.title === 'before' && m.offline === true,
    mapsAgree,
    serverAgrees: server.text === text && canonical(server.json) === canonical(m)
  }
  return {
    ok: Object.values(checks).every(Boolean),
    scenario: 'offline',
    checks,
    text,
    serverText: server.text,
    map: m,
    serverMap: server.json,
    reconnectConvergeMs: Date.now() - reconnectStart,
    convergeMs
  }
})
