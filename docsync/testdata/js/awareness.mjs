// Scenario (d): awareness. N clients set a local state; every client must see every other's
// state. Then one client's socket is killed (the TCP connection is destroyed without a close
// frame or an awareness "null", like a crashed tab), and the others must see its state removed
// promptly, long before the 30 s awareness timeout would remove it on its own. A client that
// leaves with provider.disconnect() must disappear too.
//
//   node awareness.mjs --url ws://127.0.0.1:PORT/sync [--clients 4]
import { run, client, roomName, synced, destroy, waitFor, sleep } from './common.mjs'

run(async (args) => {
  const n = Number(args.clients || 4)
  const room = roomName('awareness')
  const clients = []
  for (let i = 0; i < n; i++) {
    const c = client(args.url, room)
    c.provider.awareness.setLocalStateField('user', { name: 'user' + i, color: '#' + (100 + i) })
    clients.push(c)
  }
  await synced(clients)
  const ids = clients.map((c) => c.doc.clientID)
  const sees = (c, id) => {
    const st = c.provider.awareness.getStates().get(id)
    return st !== undefined && st.user !== undefined
  }
  const allSeeMs = await waitFor(() => clients.every((c) => ids.every((id) => sees(c, id))), 10000,
    'every client to see every awareness state')
  // The states as seen by client 1 must carry the names others set.
  const namesSeen = [...clients[1].provider.awareness.getStates().values()].map((s) => s.user && s.user.name).sort()

  // An update of a state must reach everyone as well.
  clients[2].provider.awareness.setLocalStateField('cursor', { index: 42 })
  const updateMs = await waitFor(() => clients.every((c) => {
    const st = c.provider.awareness.getStates().get(ids[2])
    return st && st.cursor && st.cursor.index === 42
  }), 5000, 'the cursor update to reach everyone')

  // Kill client 0's socket: no reconnect, no close frame, no awareness null.
  const victim = clients[0]
  victim.provider.shouldConnect = false
  const killedAt = Date.now()
  victim.provider.ws.terminate()
  const others = clients.slice(1)
  let removalMs = null
  try {
    await waitFor(() => others.every((c) => !c.provider.awareness.getStates().has(ids[0])), 20000,
      'the killed client to be removed from everyone')
    removalMs = Date.now() - killedAt
  } catch (err) {
    removalMs = null
  }

  // A clean leave (disconnect sends null) must also be seen by the rest.
  const leaver = clients[1]
  const leftAt = Date.now()
  leaver.provider.disconnect()
  const rest = clients.slice(2)
  let leaveMs = null
  try {
    await waitFor(() => rest.every((c) => !c.provider.awareness.getStates().has(ids[1])), 10000,
      'the leaver to be removed')
    leaveMs = Date.now() - leftAt
  } catch (err) {
    leaveMs = null
  }
  // The survivors still see each other.
  await sleep(100)
  const survivorsSeeEachOther = rest.every((c) => rest.every((d) => sees(c, d.doc.clientID)))
  destroy(clients)
  const checks = {
    allSeeAll: true,
    namesSeen: namesSeen.length === n && namesSeen.every((x, i) => x === 'user' + i),
    killedRemovedPromptly: removalMs !== null && removalMs < 10000,
    leaverRemoved: leaveMs !== null,
    survivorsSeeEachOther
  }
  return {
    ok: Object.values(checks).every(Boolean),
    scenario: 'awareness',
    checks,
    allSeeMs,
    updateMs,
    removalMs,
    leaveMs,
    namesSeen
  }
})
