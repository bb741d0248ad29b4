// Idle clients must stay connected: the y-websocket provider closes a socket that received
// nothing for 30 s (SPEC §4.1 watchdog). Two clients, each alone in its own document: one has a
// null awareness state (nothing of its own to renew), one has a state (renewed every ~15 s).
// Neither may be disconnected while holding the document open for --seconds (default 40; longer
// than the scenario bound of the Go tests, so this one is run by hand).
//
//   node idle.mjs --url ws://127.0.0.1:PORT/sync [--seconds 40]
import { run, client, roomName, synced, destroy, sleep } from './common.mjs'

const seconds = Number((process.argv.find((a, i, all) => all[i - 1] === '--seconds')) || 40)
run(async (args) => {
  // Each alone in its own document, so that nobody else's traffic feeds its watchdog.
  const silent = client(args.url, roomName('idle-silent'))
  silent.provider.awareness.setLocalState(null)
  const present = client(args.url, roomName('idle-present'))
  present.provider.awareness.setLocalStateField('user', { name: 'present' })
  await synced([silent, present])
  await sleep(seconds * 1000)
  const result = {
    ok: silent.disconnects === 0 && present.disconnects === 0,
    scenario: 'idle',
    seconds,
    silentDisconnects: silent.disconnects,
    presentDisconnects: present.disconnects,
    silentCloses: silent.closes,
    presentCloses: present.closes
  }
  destroy([silent, present])
  return result
}, seconds * 1000 + 15000)
