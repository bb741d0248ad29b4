// Measures Yjs on the automerge-paper trace with the same four figures as crdt/bench_test.go:
//
//   A  replay as local Y.Text edits, one transaction per trace transaction, capturing each update
//   B  apply the captured v1 updates one by one to a fresh Y.Doc
//   C  encode the final document's full state (v1)
//   D  load a fresh Y.Doc from that state; heap held ÷ encoded size
//
// Run (from the repository root): node crdt/testdata/js/bench.mjs [runs]
// It restarts itself with --expose-gc so that D can measure the heap. Each figure runs `runs`
// times (default 6, like go test -count 6) after one uncounted warm-up round (V8 compiles the
// hot code during it, as Go's benchmark loop warms up), and the table shows min, median and max.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}

const runs = Number(process.argv[2] || 6)
const traceURL = new URL('../traces/automerge-paper.json.gz', import.meta.url)
const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(traceURL)).toString('utf8'))

// The trace counts positions in code points; Y.Text counts UTF-16 code units. automerge-paper
// is ASCII, where the two agree; refuse anything else rather than measure a wrong replay.
const ascii = s => !/[^\x00-\x7f]/.test(s)
if (!ascii(trace.endContent) || !trace.txns.every(t => t.patches.every(p => ascii(p[2])))) {
  throw new Error('bench.mjs handles ASCII traces only')
}

// A fixed client id of the size Yjs picks at random (a uint32 above 2^28 takes 5 bytes), so that
// byte counts match a real session and runs are reproducible. crdt/trace_test.go uses the same.
const AUTHOR = 3141592653

const replayLocal = () => {
  const doc = new Y.Doc()
  doc.clientID = AUTHOR
  const updates = []
  doc.on('update', u => updates.push(u))
  const text = doc.getText('text')
  for (const txn of trace.txns) {
    doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del > 0) text.delete(pos, del)
        if (ins !== '') text.insert(pos, ins)
      }
    })
  }
  return { doc, updates }
}

const time = fn => {
  const t0 = process.hrtime.bigint()
  const result = fn()
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, result }
}

const stats = xs => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
  return { min: s[0], median: mid, max: s[s.length - 1] }
}

const A = []; const B = []; const C = []; const D = []
let updates, state
const record = (xs, r, ms) => { if (r > 0) xs.push(ms) } // round 0 is the warm-up
for (let r = 0; r <= runs; r++) {
  const a = time(replayLocal)
  record(A, r, a.ms)
  updates = a.result.updates
  if (a.result.doc.getText('text').toString() !== trace.endContent) throw new Error('replay does not reach endContent')

  const b = time(() => {
    const doc = new Y.Doc()
    doc.clientID = 2
    for (const u of updates) Y.applyUpdate(doc, u)
    return doc
  })
  record(B, r, b.ms)
  if (b.result.getText('text').toString() !== trace.endContent) throw new Error('applied updates do not reach endContent')

  const c = time(() => Y.encodeStateAsUpdate(b.result))
  record(C, r, c.ms)
  state = c.result

  const d = time(() => {
    const doc = new Y.Doc()
    doc.clientID = 2
    Y.applyUpdate(doc, state)
    return doc
  })
  record(D, r, d.ms)
  if (d.result.getText('text').toString() !== trace.endContent) throw new Error('loaded state does not hold endContent')
}

// Heap held by loaded docs, measured apart from the timings: everything else released, full
// collections before and after; several docs are held at once to average out noise.
const updateCount = updates.length
const updateBytes = updates.reduce((n, u) => n + u.length, 0)
updates = null
const fullGC = () => { for (let i = 0; i < 3; i++) globalThis.gc() }
// The first round (warm-up: code and caches allocated once) is not counted. `held` is reset
// before each round's baseline so that the previous round's docs are not in it.
const mem = []
let held = null
for (let r = 0; r <= runs; r++) {
  held = null
  fullGC()
  const before = process.memoryUsage().heapUsed
  held = []
  for (let k = 0; k < 4; k++) {
    const doc = new Y.Doc()
    doc.clientID = 2
    Y.applyUpdate(doc, state)
    held.push(doc)
  }
  fullGC()
  const after = process.memoryUsage().heapUsed
  if (r > 0) mem.push((after - before) / held.length / state.length)
  if (held[0].getText('text').toString() !== trace.endContent) throw new Error('loaded state does not hold endContent')
}

const yjs = JSON.parse(fs.readFileSync(new URL('./node_modules/yjs/package.json', import.meta.url), 'utf8')).version
const fmt = (x, unit) => `${x.min.toFixed(2)} / ${x.median.toFixed(2)} / ${x.max.toFixed(2)} ${unit}`
console.log(`Yjs ${yjs} on Node ${process.version}, automerge-paper (${trace.txns.length} txns), ${runs} runs: min / median / max`)
console.log('| figure | Yjs |')
console.log('|---|---|')
console.log(`| A: local replay, capturing ${updateCount} updates (${updateBytes} bytes) | ${fmt(stats(A), 'ms')} |`)
console.log(`| B: apply the ${updateCount} updates to a fresh doc | ${fmt(stats(B), 'ms')} |`)
console.log(`| C: encode full state v1 (${state.length} bytes) | ${fmt(stats(C), 'ms')} |`)
console.log(`| D: load a doc from that state | ${fmt(stats(D), 'ms')} |`)
console.log(`| D: heap held ÷ encoded size | ${fmt(stats(mem), '×')} |`)
