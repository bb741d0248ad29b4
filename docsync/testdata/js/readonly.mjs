// Scenario: permissions with real y-websocket clients. A read-only viewer receives everything
// and shows its presence, but its edits (live and offline) never reach the writer, the server
// or a fresh client. A client whose access is revoked while connected is closed with 4403 and
// does not reconnect; a client without a token is closed with 4401 and does not retry either.
//
//   node readonly.mjs --url ws://127.0.0.1:PORT/sync --admin http://127.0.0.1:PORT/admin
//
// Tokens (the Go test's Authenticate hook): rw → read-write "alice", ro → read-only "bob",
// victim → read-write "eve" until --admin/revoke?principal=eve is called.
import { run, client, roomName, synced, waitFor, sleep, destroy } from './common.mjs'

run(async (args) => {
  const room = roomName('readonly')
  const checks = {}
  const writer = client(args.url, room, { params: { token: 'rw' } })
  const viewer = client(args.url, room, { params: { token: 'ro' } })
  viewer.provider.awareness.setLocalStateField('user', { name: 'viewer' })
  // An edit the viewer made before connecting: its step 2 carries it.
  viewer.text.insert(0, 'OFFLINE ')
  await synced([writer, viewer])

  writer.text.insert(0, 'hello')
  await waitFor(() => viewer.text.toString().includes('hello'), 5000, 'the viewer to receive the writer\'s text')
  viewer.text.insert(0, 'LIVE ')
  writer.text.insert(writer.text.length, ' world')
  await waitFor(() => viewer.text.toString().includes('hello world'), 5000, 'the viewer to keep receiving')
  await waitFor(() => {
    const st = writer.provider.awareness.getStates().get(viewer.doc.clientID)
    return st && st.user && st.user.name === 'viewer'
  }, 5000, 'the writer to see the viewer\'s presence')
  checks.viewerPresenceSeen = true
  await sleep(300)
  const writerText = writer.text.toString()
  checks.writerClean = writerText === 'hello world'
  checks.viewerStillConnected = viewer.provider.wsconnected && viewer.disconnects === 0

  // A fresh read-write client gets exactly the writer's text.
  const fresh = client(args.url, room, { params: { token: 'rw' } })
  await synced([fresh])
  const freshText = fresh.text.toString()
  checks.serverClean = freshText === 'hello world'
  destroy([fresh])

  // Revocation while connected.
  const victim = client(args.url, room, { params: { token: 'victim' } })
  let terminal = null
  victim.provider.on('closed', (ev) => { terminal = ev.code })
  await synced([victim])
  const res = await fetch(args.admin + '/revoke?principal=eve', { method: 'POST' })
  checks.revokeCalled = res.ok
  await waitFor(() => victim.closes.length > 0, 5000, 'the revoked client to be closed')
  await sleep(1500) // a retrying provider would have reconnected several times by now
  checks.revokedWith4403 = victim.closes[0] === 4403 && terminal === 4403
  checks.revokedStaysOff = victim.closes.length === 1 && victim.provider.ws === null && !victim.provider.shouldConnect

  // No token at all: 4401, no retries.
  const anon = client(args.url, room)
  await waitFor(() => anon.closes.length > 0, 5000, 'the anonymous client to be refused')
  await sleep(1500)
  checks.anonWith4401 = anon.closes[0] === 4401
  checks.anonStaysOff = anon.closes.length === 1 && anon.provider.ws === null

  const result = {
    ok: Object.values(checks).every(Boolean),
    checks,
    writerText,
    viewerText: viewer.text.toString(),
    freshText,
    victimCloses: victim.closes,
    anonCloses: anon.closes
  }
  destroy([writer, viewer, victim, anon])
  return result
})
