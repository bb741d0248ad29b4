// Shared helpers for the integration scenarios. Each scenario script drives real y-websocket
// providers (the client library browsers use) against a server given with --url, and prints one
// JSON object on stdout for the Go test to check. Diagnostics go to stderr.
//
// --url is the provider's serverUrl: the provider appends "/<room>", so for Tandem it is
// ws://host:port/sync and for the reference server ws://host:port.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

export { Y, WebSocket }

/** parseArgs reads --name value pairs (and bare --flag as true). */
export function parseArgs (argv = process.argv.slice(2)) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) continue
    const key = a.slice(2)
    const next = argv[i + 1]
    if (next === undefined || next.startsWith('--')) {
      out[key] = true
    } else {
      out[key] = next
      i++
    }
  }
  if (typeof out.url !== 'string') {
    fail('missing --url ws://host:port/prefix')
  }
  out.url = out.url.replace(/\/+$/, '')
  return out
}

/** roomName returns a fresh document name so scenarios never share state. */
export function roomName (prefix) {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`
}

/**
 * client creates a Y.Doc with a WebsocketProvider for room. Node needs the ws polyfill; the
 * BroadcastChannel is off so that providers in this one process only talk through the server.
 * Status changes are counted so scenarios can check that honest clients were never dropped.
 */
export function client (url, room, opts = {}) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
    maxBackoffTime: 500,
    ...opts
  })
  const c = { doc, provider, text: doc.getText('t'), disconnects: 0, closes: [] }
  provider.on('status', ({ status }) => {
    if (status === 'disconnected') c.disconnects++
  })
  provider.on('connection-close', (ev) => {
    if (ev) c.closes.push(ev.code)
  })
  return c
}

/** sleep resolves after ms milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** waitFor polls cond every 20 ms until it holds; it rejects with what after timeoutMs. */
export async function waitFor (cond, timeoutMs, what) {
  const start = Date.now()
  for (;;) {
    if (cond()) return Date.now() - start
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`)
    }
    await sleep(20)
  }
}

/** synced waits until every client's provider reports synced. */
export function synced (clients, timeoutMs = 10000) {
  return waitFor(() => clients.every((c) => c.provider.synced), timeoutMs, 'all providers synced')
}

/** converged waits until all clients hold the same text, and pred (if given) holds for it. */
export function converged (clients, timeoutMs, pred = () => true) {
  return waitFor(() => {
    const s = clients[0].text.toString()
    return clients.every((c) => c.text.toString() === s) && pred(s)
  }, timeoutMs, 'all clients to converge')
}

/** sameState waits until all clients hold equal state vectors and equal text. */
export function sameState (clients, timeoutMs) {
  const sv = (c) => Buffer.from(Y.encodeStateVector(c.doc)).toString('hex')
  return waitFor(() => {
    const v = sv(clients[0])
    const s = clients[0].text.toString()
    return clients.every((c) => sv(c) === v && c.text.toString() === s)
  }, timeoutMs, 'all clients to reach the same state vector')
}

/**
 * freshState joins room with a brand-new client, waits for its first sync, and returns the
 * text and JSON of every root it knows, as the server sent them.
 */
export async function freshState (url, room, timeoutMs = 10000) {
  const c = client(url, room)
  try {
    await synced([c], timeoutMs)
    return { text: c.text.toString(), json: c.doc.getMap('m').toJSON(), rich: richState(c), stateVectorClients: Y.decodeStateVector(Y.encodeStateVector(c.doc)).size }
  } finally {
    destroy([c])
  }
}

/**
 * richState returns the whole visible state of a client's document in canonical JSON: the text
 * "t" as a delta (with formatting attributes), the array "a" and the map "m".
 */
export function richState (c) {
  return canonical({ delta: c.text.toDelta(), a: c.doc.getArray('a').toJSON(), m: c.doc.getMap('m').toJSON() })
}

/** destroy disconnects and destroys each client's provider and document. */
export function destroy (clients) {
  for (const c of clients) {
    c.provider.destroy()
    c.doc.destroy()
  }
}

/** canonical returns JSON text of v with object keys sorted, for order-independent comparison. */
export function canonical (v) {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x))
    ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
    : x)
}

/** countChars returns how many times each character occurs in s. */
export function countChars (s) {
  const m = {}
  for (const ch of s) m[ch] = (m[ch] || 0) + 1
  return m
}

/** emit prints the scenario result and exits; ok=false results exit 1. */
export function emit (result) {
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(result.ok ? 0 : 1)
}

/** fail prints an error result and exits 1. */
export function fail (msg, extra = {}) {
  emit({ ok: false, error: String(msg), ...extra })
}

/**
 * run calls main with the parsed args under a hard deadline, and turns a thrown error or a
 * missed deadline into a failed result.
 */
export function run (main, deadlineMs = 25000) {
  const args = parseArgs()
  const timer = setTimeout(() => fail(`scenario exceeded ${deadlineMs} ms`), deadlineMs)
  timer.unref()
  main(args).then(emit, (err) => fail(err && err.stack ? err.stack : err))
}
