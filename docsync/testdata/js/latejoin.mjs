// Scenario (c): a late joiner receives the full state. Two writers build a document (text with
// deletions, a map, one large paste), then a new client joins while they are connected, and another joins after
// every writer has left. Both must receive exactly the writers' state.
//
//   node latejoin.mjs --url ws://127.0.0.1:PORT/sync [--chars 2000] [--big 1048576]
import { run, client, roomName, synced, sameState, freshState, destroy, sleep, canonical } from './common.mjs'

run(async (args) => {
  const chars = Number(args.chars || 2000)
  const room = roomName('latejoin')
  const w = [client(args.url, room), client(args.url, room)]
  await synced(w)
  // Write in many small transactions, like typing, with some deletions.
  for (let i = 0; i < chars; i++) {
    const c = w[i % 2]
    c.text.insert(Math.floor(c.text.length / 2), String.fromCharCode(33 + (i % 90)))
    if (i % 7 === 6) c.text.delete(0, 1)
    if (i % 100 === 0) c.doc.getMap('m').set('k' + i, { i, by: i % 2 })
    if (i % 50 === 0) await sleep(1)
  }
  // One large paste (1 MiB by default) in a single transaction: a big update to broadcast,
  // and a big step 2 for the joiners below.
  const big = Number(args.big || (1 << 20))
  if (big > 0) {
    const chunk = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(big / 27)).slice(0, big)
    w[1].text.insert(0, chunk)
  }
  await sameState(w, 15000)
  const text = w[0].text.toString()
  const map = w[0].doc.getMap('m').toJSON()

  const late = await freshState(args.url, room)
  destroy(w)
  await sleep(300)
  const afterLeave = await freshState(args.url, room)
  const mapJSON = canonical(map)
  const checks = {
    lateWhileConnected: late.text === text && canonical(late.json) === mapJSON,
    lateAfterAllLeft: afterLeave.text === text && canonical(afterLeave.json) === mapJSON
  }
  return {
    ok: Object.values(checks).every(Boolean),
    scenario: 'latejoin',
    checks,
    textLength: text.length,
    lateTextLength: late.text.length,
    afterLeaveTextLength: afterLeave.text.length,
    mapKeys: Object.keys(map).length
  }
})
