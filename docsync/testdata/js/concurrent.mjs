// Scenario (a): N clients type concurrently at the same spot of one text. All must converge to
// the same text containing every character each client typed, and a fresh client must receive
// exactly that text from the server.
//
//   node concurrent.mjs --url ws://127.0.0.1:PORT/sync [--clients 8] [--chars 40]
import { run, client, roomName, synced, converged, sameState, freshState, richState, destroy, countChars, sleep } from './common.mjs'

run(async (args) => {
  const n = Number(args.clients || 8)
  const k = Number(args.chars || 40)
  const room = roomName('concurrent')
  const clients = []
  for (let i = 0; i < n; i++) clients.push(client(args.url, room))
  await synced(clients)
  // Seed text typed by client 0, so the "same spot" is in the middle of existing content.
  clients[0].text.insert(0, '[]')
  await converged(clients, 10000, (s) => s === '[]')

  // Each client i types k copies of its own letter at index 1 (between the brackets),
  // interleaved with the others: every round every client types one character, and rounds
  // are separated by short random pauses so that typing really overlaps on the wire.
  // Letters a, b, c, ...; two clients type non-ASCII (a 2-byte and a surrogate-pair character)
  // so that UTF-16 positions and lengths are exercised on the server.
  const letters = clients.map((_, i) => i === n - 1 ? '😀' : i === n - 2 ? 'é' : String.fromCharCode(97 + i))
  for (let r = 0; r < k; r++) {
    for (let i = 0; i < n; i++) {
      const c = clients[i]
      // Half the time insert at the shared spot, half the time right before the closing bracket.
      const pos = r % 2 === 0 ? 1 : c.text.length - 1
      c.text.insert(pos, letters[i])
    }
    await sleep(Math.floor(Math.random() * 4))
  }
  const expectLen = 2 + letters.reduce((a, l) => a + l.length * k, 0) // UTF-16 units
  const convergeMs = await converged(clients, 15000, (s) => s.length === expectLen)
  const text = clients[0].text.toString()
  const counts = countChars(text)

  // Then concurrent rich edits: formatting of overlapping ranges, array pushes, map writes to
  // a shared key (last writer wins, decided by client id) and to own keys.
  // Range ends are moved off the middle of a surrogate pair: Yjs would split the pair and
  // write U+FFFD for each half (SPEC §2.6), whatever the server.
  const whole = (s, pos) => pos > 0 && pos < s.length && s.charCodeAt(pos - 1) >= 0xd800 && s.charCodeAt(pos - 1) < 0xdc00 ? pos + 1 : pos
  clients.forEach((c, i) => {
    const s = c.text.toString()
    const from = whole(s, 1 + i * 7)
    const to = whole(s, from + 12)
    c.doc.transact(() => {
      c.text.format(from, to - from, i % 2 === 0 ? { bold: true } : { color: 'c' + i })
      c.doc.getArray('a').push([i, { by: i }])
      c.doc.getMap('m').set('winner', i)
      c.doc.getMap('m').set('k' + i, [i, 'x'])
    })
  })
  await sameState(clients, 15000)
  const rich = richState(clients[0])
  const richAgree = clients.every((c) => richState(c) === rich)
  const server = await freshState(args.url, room)
  const disconnects = clients.reduce((a, c) => a + c.disconnects, 0)
  destroy(clients)
  const everyClientComplete = letters.every((l) => counts[l] === k)
  const delta = JSON.parse(rich).delta
  return {
    ok: everyClientComplete && server.text === text && richAgree && server.rich === rich && disconnects === 0,
    scenario: 'concurrent',
    clients: n,
    charsPerClient: k,
    text,
    textLength: text.length,
    counts,
    convergeMs,
    serverText: server.text,
    richAgree,
    serverRichAgrees: server.rich === rich,
    formattedRuns: delta.filter((d) => d.attributes).length,
    arrayLength: JSON.parse(rich).a.length,
    disconnects
  }
})
