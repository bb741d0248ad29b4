// Scenario: the server restarts under connected clients. Three clients type and converge, then
// print {"phase":"ready"} and wait for "down" on stdin (the test has shut the server down and
// closed its store); they edit while offline, print {"phase":"edited"}, and wait for "up" (a new
// server on the same port, loaded from the same store). They must reconnect by themselves,
// converge to a text holding everything typed before and during the outage, and a fresh client
// must get the same text from the restarted server. Ends with the usual JSON result line.
//
//   node restart.mjs --url ws://127.0.0.1:PORT/sync
import { createInterface } from 'node:readline'
import { run, client, roomName, synced, sameState, freshState, destroy, waitFor, sleep, canonical } from './common.mjs'

const lines = createInterface({ input: process.stdin })
const nextLine = () => new Promise((resolve) => lines.once('line', resolve))
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

run(async (args) => {
  const room = roomName('restart')
  const cs = [client(args.url, room), client(args.url, room), client(args.url, room)]
  await synced(cs)
  for (let i = 0; i < 30; i++) {
    cs[i % 3].text.insert(cs[i % 3].text.length, String(i % 10))
    if (i % 5 === 0) await sleep(2)
  }
  cs[0].doc.getMap('m').set('before', 1)
  await sameState(cs, 10000)
  const before = cs[0].text.toString()
  say({ phase: 'ready' })

  if ((await nextLine()) !== 'down') throw new Error('expected "down"')
  await waitFor(() => cs.every((c) => !c.provider.wsconnected), 10000, 'every client to notice the outage')
  const closeCodes = cs.map((c) => c.closes.slice())
  cs.forEach((c, i) => c.text.insert(0, 'XYZ'[i].repeat(5)))
  cs[1].doc.getMap('m').set('during', 2)
  say({ phase: 'edited' })

  if ((await nextLine()) !== 'up') throw new Error('expected "up"')
  const upAt = Date.now()
  await synced(cs, 15000)
  await sameState(cs, 10000)
  const reconnectMs = Date.now() - upAt
  const text = cs[0].text.toString()
  const m = cs[0].doc.getMap('m').toJSON()
  const server = await freshState(args.url, room)
  destroy(cs)
  const countOf = (s, ch) => [...s].filter((x) => x === ch).length
  const checks = {
    keptBefore: text.endsWith(before),
    allOffline: ['X', 'Y', 'Z'].every((ch) => countOf(text, ch) === 5),
    mapBoth: m.before === 1 && m.during === 2,
    serverAgrees: server.text === text && canonical(server.json) === canonical(m)
  }
  return {
    ok: Object.values(checks).every(Boolean),
    scenario: 'restart',
    checks,
    before,
    text,
    serverText: server.text,
    map: m,
    serverMap: server.json,
    closeCodes,
    reconnectMs
  }
}, 28000)
