// Scenario (e): hostile raw sockets. While three honest y-websocket clients keep typing into a
// document, raw WebSocket connections to the same document send malformed input: garbage
// var-ints, truncated messages, text frames, undecodable updates, unknown sub-types, invalid
// awareness JSON, and broken WebSocket framing. The honest clients must never be dropped and
// must converge, and the server must answer each protocol violation with a close code
// (4400-4499 expected for y-protocols violations; the codes are reported per case).
//
//   node hostile.mjs --url ws://127.0.0.1:PORT/sync [--skip-framing]
import { run, client, roomName, synced, sameState, freshState, destroy, sleep, WebSocket } from './common.mjs'

const enc = new TextEncoder()
const awarenessBody = (json) => {
  const s = enc.encode(json)
  // count 1, client 77, clock 1, varString(json); the JSON here is short (< 128 bytes)
  const entry = [0x01, 77, 0x01, s.length, ...s]
  return Uint8Array.from([0x01, entry.length, ...entry])
}

// Each case: what to send once the socket is open. Byte values follow SPEC §4 framing.
const cases = {
  garbageVarUint: { send: [Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])] },
  truncatedUpdate: { send: [Uint8Array.from([0x00, 0x02, 0x10, 0x01, 0x02])] }, // claims 16 bytes, has 2
  truncatedStep1: { send: [Uint8Array.from([0x00, 0x00, 0x05, 0x01])] },
  textFrame: { send: ['hello, this is a text frame'] },
  malformedUpdate: { send: [Uint8Array.from([0x00, 0x02, 0x03, 0x05, 0x01, 0x01])] }, // 5 clients, then EOF
  badContentRef: { send: [Uint8Array.from([0x00, 0x02, 0x08, 0x01, 0x01, 0x4d, 0x00, 0x1f, 0x01, 0x78, 0x00])] },
  unknownSyncType: { send: [Uint8Array.from([0x00, 0x07, 0x00])] },
  invalidAwarenessJSON: { send: [awarenessBody('{"user": {')] },
  awarenessTruncated: { send: [Uint8Array.from([0x01, 0x20, 0x01, 0x4d])] },
  unknownMessageType: { send: [Uint8Array.from([0x09, 0x00])] },
  emptyFrame: { send: [new Uint8Array(0)] },
  // Raw WebSocket framing errors, written straight to the TCP socket.
  unmaskedFrame: { raw: Buffer.from([0x82, 0x03, 0x00, 0x00, 0x00]) },
  reservedOpcode: { raw: Buffer.from([0x83, 0x80, 1, 2, 3, 4]) },
  truncatedWsFrame: { raw: Buffer.from([0x82, 0x80 | 100, 1, 2, 3, 4, 9, 9, 9, 9, 9]), thenEnd: true }
}

function attack (url, name, spec) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url)
    const res = { case: name, code: null, reason: '', closedMs: null, received: 0, error: null }
    let sentAt = 0
    const done = () => resolve(res)
    const timer = setTimeout(() => {
      res.stillOpen = true
      ws.terminate()
    }, 5000)
    ws.on('message', () => { res.received++ })
    ws.on('error', (err) => { res.error = String(err.message || err) })
    ws.on('close', (code, reason) => {
      clearTimeout(timer)
      if (!res.stillOpen) {
        res.code = code
        res.reason = reason.toString()
        res.closedMs = Date.now() - sentAt
      }
      done()
    })
    ws.on('open', () => {
      sentAt = Date.now()
      if (spec.raw) {
        ws._socket.write(spec.raw)
        if (spec.thenEnd) setTimeout(() => ws._socket.end(), 200)
        return
      }
      for (const m of spec.send) ws.send(m)
    })
  })
}

run(async (args) => {
  const room = roomName('hostile')
  const url = `${args.url}/${room}`
  const honest = [client(args.url, room), client(args.url, room), client(args.url, room)]
  await synced(honest)
  let typing = true
  const typed = [0, 0, 0]
  const typer = (async () => {
    while (typing) {
      honest.forEach((c, i) => {
        c.text.insert(Math.floor(c.text.length / 2), String.fromCharCode(65 + i))
        typed[i]++
      })
      await sleep(5)
    }
  })()

  const results = []
  // Run the attacks a few at a time, while typing goes on.
  // --skip-framing leaves out the raw WebSocket framing cases (they crash the reference
  // server: its ws 6 emits an unhandled 'error' event on an invalid opcode).
  const names = Object.keys(cases).filter((n) => !(args['skip-framing'] && cases[n].raw))
  for (let i = 0; i < names.length; i += 4) {
    const batch = names.slice(i, i + 4)
    results.push(...await Promise.all(batch.map((n) => attack(url, n, cases[n]))))
  }
  typing = false
  await typer
  await sameState(honest, 10000)
  const text = honest[0].text.toString()
  const server = await freshState(args.url, room)
  const honestDisconnects = honest.reduce((a, c) => a + c.disconnects, 0)
  destroy(honest)
  const countOf = (s, ch) => [...s].filter((x) => x === ch).length
  const checks = {
    honestNeverDropped: honestDisconnects === 0,
    honestComplete: typed.every((n, i) => countOf(text, String.fromCharCode(65 + i)) === n),
    serverAgrees: server.text === text
  }
  return {
    ok: Object.values(checks).every(Boolean),
    scenario: 'hostile',
    checks,
    typed,
    textLength: text.length,
    honestDisconnects,
    cases: results
  }
})
