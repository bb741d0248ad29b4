// Drives the real Yjs library for crdt/interop_test.go. It reads one JSON request on stdin and
// writes one JSON answer on stdout, so the Go test starts Node once for a whole batch.
//
// Request: { "mode": "apply" | "generate" | "trace", "cases": [...] }
//
// mode "apply" (Go → Yjs): each case is
//   { "roots": [{"name","kind"}], "gc": bool, "updates": [b64 v1...], "orders": [[index...]...],
//     "states": [{"label", "v2": bool, "update": b64}] }
// For every order, a fresh Y.Doc applies the updates one by one in that order (roots untyped, as a
// server holds them), then types the roots and reports a snapshot. Every state is loaded into a
// fresh Y.Doc too, and the answer carries Y.mergeUpdates of all the updates.
//
// mode "generate" (Yjs → Go): each case is { "seed", "docs", "steps", "gc", "nestedFormats" }. Several Y.Docs with fixed
// client ids make random concurrent edits from a seeded PRNG and exchange updates; every update
// any doc emits is recorded (v1 and v2, in emission order, duplicates included). The answer gives
// the updates, several application orders with the snapshot a fresh Y.Doc reaches applying the
// v1 updates in that order, and the results of Yjs's update-level functions (mergeUpdates,
// diffUpdate, ...) on them.
//
// A snapshot is { json: {root: tagged toJSON}, deltas: {textRoot: delta}, sv, ds, update, updateV2,
// pending } with byte fields in base64. Values JSON cannot carry are tagged as in
// crdt/testdata/yjs/gen.mjs: {$bytes}, {$undefined}, {$bigint}, {$number}.
//
// Run: npm ci (once), then the Go test (go test ./crdt -run Interop). By hand:
//   echo '{"mode":"generate","cases":[{"seed":1,"docs":3,"steps":20}]}' | node interop.mjs

import crypto from 'node:crypto'
import fs from 'node:fs'
import zlib from 'node:zlib'
import * as Y from 'yjs'

const b64 = u => Buffer.from(u).toString('base64')
const fromB64 = s => new Uint8Array(Buffer.from(s, 'base64'))
const REMOTE = 'remote'

/** s with every lone surrogate (left by a split pair) replaced by U+FFFD, as the Go test reads
 * them; String.prototype.toWellFormed needs Node 20, so it is spelled out. */
const wellFormed = s => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')

/** Tagged JSON: plain JSON values stay as they are; values JSON cannot carry get a tag object. */
const tag = v => {
  if (v === undefined) return { $undefined: true }
  if (v === null) return null
  switch (typeof v) {
    case 'number':
      if (Number.isNaN(v)) return { $number: 'NaN' }
      if (v === Infinity) return { $number: 'Infinity' }
      if (v === -Infinity) return { $number: '-Infinity' }
      if (Object.is(v, -0)) return { $number: '-0' }
      return v
    case 'bigint': return { $bigint: v.toString() }
    case 'string': return wellFormed(v)
    case 'boolean': return v
  }
  if (v instanceof Uint8Array) return { $bytes: b64(v) }
  if (v instanceof Y.AbstractType) return tag(v.toJSON())
  if (Array.isArray(v)) return v.map(tag)
  const o = {}
  for (const k of Object.keys(v)) o[k] = tag(v[k])
  return o
}

const rootOf = (doc, { name, kind }) => {
  switch (kind) {
    case 'text': return doc.getText(name)
    case 'map': return doc.getMap(name)
    case 'array': return doc.getArray(name)
    case 'xml': return doc.getXmlFragment(name)
    default: throw new Error(`unknown root kind ${kind}`)
  }
}

const deltaOf = text => text.toDelta().map(op => {
  const o = { insert: tag(op.insert) }
  if (op.attributes !== undefined) o.attributes = tag(op.attributes)
  return o
})

const snapshot = (doc, roots) => {
  const json = {}
  const deltas = {}
  for (const r of roots) {
    const t = rootOf(doc, r)
    json[r.name] = tag(t.toJSON())
    if (r.kind === 'text') deltas[r.name] = deltaOf(t)
  }
  return {
    json,
    deltas,
    sv: b64(Y.encodeStateVector(doc)),
    // The state diffed against its own state vector: no structs, only the whole delete set, so
    // comparing it compares delete sets independently of application order.
    ds: b64(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc))),
    update: b64(Y.encodeStateAsUpdate(doc)),
    updateV2: b64(Y.encodeStateAsUpdateV2(doc)),
    pending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null
  }
}

const captureError = fn => {
  try {
    return fn()
  } catch (e) {
    return { error: String(e && e.stack ? e.stack : e) }
  }
}

// ---------------------------------------------------------------------------
// mode "apply"

const applyCase = c => {
  const updates = c.updates.map(fromB64)
  const orders = c.orders.map(order => captureError(() => {
    const doc = new Y.Doc({ gc: c.gc })
    for (const i of order) Y.applyUpdate(doc, updates[i], REMOTE)
    return snapshot(doc, c.roots)
  }))
  const states = (c.states || []).map(s => captureError(() => {
    const doc = new Y.Doc({ gc: c.gc })
    if (s.v2) Y.applyUpdateV2(doc, fromB64(s.update), REMOTE)
    else Y.applyUpdate(doc, fromB64(s.update), REMOTE)
    return { label: s.label, ...snapshot(doc, c.roots) }
  }))
  return { orders, states, merged: b64(Y.mergeUpdates(updates)) }
}

// ---------------------------------------------------------------------------
// mode "generate": seeded random edits

// mulberry32: a small, well-known 32-bit PRNG; the Go side never needs to reproduce it.
const makeRng = seed => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = n => Math.floor(next() * n) // 0 ≤ int(n) < n
  const pick = xs => xs[int(xs.length)]
  return { next, int, pick }
}

const CHARS = ['a', 'b', 'c', 'x', ' ', '\n', 'é', 'ß', '中', '文', '😀', '𝄞', '👩‍👧', '🇩🇪']
const KEYS = ['a', 'b', 'k', 'title', '2', '10']
const ATTR_KEYS = ['bold', 'italic', 'color', 'link']

const randString = rng => {
  let s = ''
  const n = 1 + rng.int(5)
  for (let i = 0; i < n; i++) s += rng.pick(CHARS)
  return s
}

const randAny = (rng, depth) => {
  switch (rng.int(depth > 1 ? 8 : 10)) {
    case 0: return null
    case 1: return rng.next() < 0.5
    case 2: return rng.int(2001) - 1000
    case 3: return rng.pick([0.5, -1.25, 1.1, 2147483648, 2 ** 40, 1e21, 3.4028234663852886e38, 2 ** 53 - 1])
    case 4: return randString(rng)
    case 5: return new Uint8Array(Array.from({ length: rng.int(4) }, () => rng.int(256)))
    case 6: return ''
    case 7: return rng.int(100)
    case 8: return Array.from({ length: rng.int(3) }, () => randAny(rng, depth + 1))
    default: {
      const o = {}
      const n = rng.int(3)
      for (let i = 0; i < n; i++) o[rng.pick(KEYS)] = randAny(rng, depth + 1)
      return o
    }
  }
}

const randAttrs = rng => {
  const attrs = {}
  const n = 1 + rng.int(2)
  for (let i = 0; i < n; i++) {
    const k = rng.pick(ATTR_KEYS)
    if (k === 'color') attrs[k] = rng.pick(['red', 'blue', null])
    else if (k === 'link') attrs[k] = rng.next() < 0.3 ? null : { href: rng.pick(['a', 'b']) } // a new object each time
    else attrs[k] = rng.pick([true, null])
  }
  return attrs
}

/** Index boundaries of a text that do not split a surrogate pair (embeds count 1). */
const boundaries = text => {
  const bs = [0]
  let pos = 0
  for (const op of text.toDelta()) {
    if (typeof op.insert === 'string') {
      for (const ch of op.insert) { pos += ch.length; bs.push(pos) }
    } else {
      pos += 1
      bs.push(pos)
    }
  }
  return bs
}

/** Every index of a text, 0…length, including those inside a surrogate pair. */
const allPositions = text => Array.from({ length: text.length + 1 }, (_, i) => i)

/** All shared types reachable from the roots, nested ones included. */
const collectTypes = (doc, roots) => {
  const out = []
  const visit = t => {
    out.push(t)
    if (t instanceof Y.Map) for (const v of t.values()) { if (v instanceof Y.AbstractType) visit(v) }
    if (t instanceof Y.Array) for (const v of t.toArray()) { if (v instanceof Y.AbstractType) visit(v) }
    if (t instanceof Y.Text) for (const op of t.toDelta()) { if (op.insert instanceof Y.AbstractType) visit(op.insert) }
    if (t instanceof Y.XmlFragment) for (const v of t.toArray()) { if (!(v instanceof Y.XmlHook)) visit(v) }
  }
  for (const r of roots) visit(rootOf(doc, r))
  return out
}

const randNested = rng => {
  switch (rng.int(3)) {
    case 0: return new Y.Text()
    case 1: return new Y.Map()
    default: return new Y.Array()
  }
}

const randValueOrType = rng => rng.next() < 0.15 ? randNested(rng) : randAny(rng, 0)

// formats says whether t may be formatted. Nested texts stay unformatted unless the case asks
// for nestedFormats: a Y.Text nested in another type cleans up redundant formats after remote
// transactions even in a document whose roots are untyped (SPEC §3.4.4), which the Go crdt
// package deliberately never does (see its doc.go Caveats).
const editText = (rng, t, formats) => {
  // One edit in twenty may split a surrogate pair (Yjs then writes U+FFFD, SPEC §2.6). Yjs's own
  // replicas can then disagree (the one that splits has U+FFFD, the others may keep the pair),
  // so such scenarios skip the participants' convergence check.
  let bs = boundaries(t)
  if (rng.next() < 0.05) {
    bs = allPositions(t)
    stats.splitEdits++
  }
  const len = bs[bs.length - 1]
  const r = rng.int(10)
  if (r < 4 || len === 0) {
    const at = rng.pick(bs)
    const s = randString(rng)
    if (formats && rng.next() < 0.3) t.insert(at, s, randAttrs(rng))
    else t.insert(at, s)
  } else if (r < 6 || (!formats && r < 9)) {
    const i = rng.int(bs.length - 1)
    const j = i + 1 + rng.int(Math.min(4, bs.length - 1 - i))
    t.delete(bs[i], bs[j] - bs[i])
  } else if (r < 9) {
    const i = rng.int(bs.length - 1)
    const j = i + 1 + rng.int(bs.length - 1 - i)
    t.format(bs[i], bs[j] - bs[i], randAttrs(rng))
  } else {
    t.insertEmbed(rng.pick(bs), { image: randString(rng) }, formats && rng.next() < 0.5 ? randAttrs(rng) : undefined)
  }
}

const editMap = (rng, m) => {
  const k = rng.pick(KEYS)
  if (rng.next() < 0.25) m.delete(k)
  else m.set(k, randValueOrType(rng))
}

const editArray = (rng, a) => {
  if (rng.next() < 0.35 && a.length > 0) {
    const i = rng.int(a.length)
    a.delete(i, 1 + rng.int(Math.min(3, a.length - i)))
  } else {
    const vals = Array.from({ length: 1 + rng.int(3) }, () => randValueOrType(rng))
    a.insert(rng.int(a.length + 1), vals)
  }
}

const XML_NAMES = ['p', 'h1', 'Para', 'li']

const editXml = (rng, x) => {
  const r = rng.int(10)
  if (r < 3 && x.length > 0) {
    const i = rng.int(x.length)
    x.delete(i, 1 + rng.int(Math.min(2, x.length - i)))
  } else if (r < 6 && x instanceof Y.XmlElement) {
    const k = rng.pick(['class', 'id', 'b', 'a'])
    if (rng.next() < 0.3) x.removeAttribute(k)
    else x.setAttribute(k, rng.next() < 0.7 ? randString(rng) : rng.int(100))
  } else {
    const kids = Array.from({ length: 1 + rng.int(2) }, () => {
      if (rng.next() < 0.5) return new Y.XmlText()
      return new Y.XmlElement(rng.pick(XML_NAMES))
    })
    x.insert(rng.int(x.length + 1), kids)
  }
}

const ROOTS = [
  { name: 'text', kind: 'text' },
  { name: 'map', kind: 'map' },
  { name: 'array', kind: 'array' },
  { name: 'notes', kind: 'text' },
  { name: 'xml', kind: 'xml' }
]

const sync = (to, from) => {
  const u = Y.encodeStateAsUpdate(from, Y.encodeStateVector(to))
  Y.applyUpdate(to, u, REMOTE)
}

/** Content of a doc as JSON text with sorted object keys (map key order depends on arrival). */
const canonical = doc => {
  const sortKeys = v => {
    if (v === null || typeof v !== 'object') return v
    if (Array.isArray(v)) return v.map(sortKeys)
    const o = {}
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k])
    return o
  }
  const s = snapshot(doc, ROOTS)
  return JSON.stringify(sortKeys({ json: s.json, deltas: s.deltas, sv: s.sv }))
}

// stats counts, per generated case, the edits that may split a surrogate pair.
const stats = { splitEdits: 0 }

const generateCase = c => {
  stats.splitEdits = 0
  const rng = makeRng(c.seed)
  const recorded = []
  const docs = []
  for (let i = 0; i < c.docs; i++) {
    const doc = new Y.Doc({ gc: c.gc })
    doc.clientID = 1000 + i * 7 + (c.seed % 5) // fixed, distinct, seed-dependent order
    const pendingV1 = []
    doc.on('update', u => pendingV1.push(u))
    doc.on('updateV2', (u, origin) => recorded.push({ client: doc.clientID, local: origin !== REMOTE, v1: b64(pendingV1.shift()), v2: b64(u) }))
    for (const r of ROOTS) rootOf(doc, r)
    docs.push(doc)
  }
  for (let step = 0; step < c.steps; step++) {
    const doc = rng.pick(docs)
    if (rng.next() < 0.2 && docs.length > 1) {
      const other = rng.pick(docs.filter(d => d !== doc))
      sync(doc, other)
      continue
    }
    doc.transact(() => {
      const n = 1 + rng.int(3)
      for (let k = 0; k < n; k++) {
        const t = rng.pick(collectTypes(doc, ROOTS))
        if (t instanceof Y.Text) editText(rng, t, t._item === null || Boolean(c.nestedFormats))
        else if (t instanceof Y.Map) editMap(rng, t)
        else if (t instanceof Y.XmlFragment) editXml(rng, t)
        else editArray(rng, t)
      }
    }, 'local')
  }
  // Converge everyone, then check the participants agree (a sanity check of the scenario).
  for (const a of docs) for (const b of docs) if (a !== b) sync(a, b)
  const want = canonical(docs[0])
  for (const d of docs) {
    if (stats.splitEdits === 0 && canonical(d) !== want) throw new Error(`seed ${c.seed}: Yjs participants diverged`)
  }
  // Update-level functions (no Doc): merge all updates, and diff the merge against the state
  // vector of a doc that applied the first half of them.
  const v1s = recorded.map(r => fromB64(r.v1))
  const v2s = recorded.map(r => fromB64(r.v2))
  const half = new Y.Doc({ gc: c.gc })
  for (const u of v1s.slice(0, v1s.length >> 1)) Y.applyUpdate(half, u, REMOTE)
  const halfSV = Y.encodeStateVector(half)
  const merged = Y.mergeUpdates(v1s)
  const mergedV2 = Y.mergeUpdatesV2(v2s)
  const updateLevel = {
    merged: b64(merged),
    mergedV2: b64(mergedV2),
    svFromMerged: b64(Y.encodeStateVectorFromUpdate(merged)),
    halfSV: b64(halfSV),
    diff: b64(Y.diffUpdate(merged, halfSV)),
    diffV2: b64(Y.diffUpdateV2(mergedV2, halfSV)),
    v1ToV2: b64(Y.convertUpdateFormatV1ToV2(merged)),
    v2ToV1: b64(Y.convertUpdateFormatV2ToV1(mergedV2))
  }
  // Application orders, each with what a fresh Y.Doc reaches: recorded, reversed, two shuffles,
  // each update twice, and the local updates alone (updates emitted while applying remote ones
  // repeat their structs): all in recorded order, and shuffled leaving one out, which usually
  // leaves something pending.
  const orng = makeRng(c.seed ^ 0x5bd1e995)
  const shuffle = xs => {
    const a = [...xs]
    for (let i = a.length - 1; i > 0; i--) {
      const j = orng.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]]
    }
    return a
  }
  const all = recorded.map((_, i) => i)
  const local = all.filter(i => recorded[i].local)
  const skip = local.length > 1 ? local[1 + orng.int(local.length - 1)] : -1
  const orders = [
    { name: 'recorded', order: all },
    { name: 'reversed', order: [...all].reverse() },
    { name: 'shuffled#1', order: shuffle(all) },
    { name: 'shuffled#2', order: shuffle(all) },
    { name: 'duplicated', order: all.flatMap(i => [i, i]) },
    { name: 'local-only', order: local },
    { name: 'local-missing-one', order: shuffle(local).filter(i => i !== skip) }
  ].map(({ name, order }) => {
    const doc = new Y.Doc({ gc: c.gc })
    for (const i of order) Y.applyUpdate(doc, v1s[i], REMOTE)
    return { name, order, expected: snapshot(doc, ROOTS) }
  })
  return { roots: ROOTS, updates: recorded, orders, updateLevel, splitEdits: stats.splitEdits }
}

// ---------------------------------------------------------------------------
// mode "trace": replay testdata/traces/<name>.json.gz (ASCII traces only) as local edits on
// Y.Text "text" with client id `client`, exactly as crdt/trace_test.go replayLocal does.
// Answers the number and total size of the updates, a SHA-256 per chunk of `chunk` updates
// (each update's length as 4 bytes big-endian, then its bytes), and the final state v1.

const traceCase = c => {
  const raw = zlib.gunzipSync(fs.readFileSync(new URL(`../traces/${c.name}.json.gz`, import.meta.url)))
  const trace = JSON.parse(raw.toString('utf8'))
  const ascii = s => !/[^\x00-\x7f]/.test(s)
  if (!ascii(trace.startContent) || !trace.txns.every(t => t.patches.every(p => ascii(p[2])))) {
    throw new Error('mode trace handles ASCII traces only')
  }
  const doc = new Y.Doc()
  doc.clientID = c.client
  const hashes = []
  let hash = crypto.createHash('sha256')
  let count = 0
  let bytes = 0
  doc.on('update', u => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(u.length)
    hash.update(len)
    hash.update(u)
    count++
    bytes += u.length
    if (count % c.chunk === 0) {
      hashes.push(hash.digest('hex'))
      hash = crypto.createHash('sha256')
    }
  })
  const text = doc.getText('text')
  if (trace.startContent !== '') doc.transact(() => text.insert(0, trace.startContent))
  for (const txn of trace.txns) {
    doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del > 0) text.delete(pos, del)
        if (ins !== '') text.insert(pos, ins)
      }
    })
  }
  if (count % c.chunk !== 0) hashes.push(hash.digest('hex'))
  if (text.toString() !== trace.endContent) throw new Error('Yjs replay does not reach endContent')
  return { count, bytes, hashes, state: b64(Y.encodeStateAsUpdate(doc)), sv: b64(Y.encodeStateVector(doc)) }
}

// ---------------------------------------------------------------------------

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'))
let cases
switch (req.mode) {
  case 'apply': cases = req.cases.map(c => captureError(() => applyCase(c))); break
  case 'generate': cases = req.cases.map(c => captureError(() => generateCase(c))); break
  case 'trace': cases = req.cases.map(c => captureError(() => traceCase(c))); break
  default: throw new Error(`unknown mode ${req.mode}`)
}
const yjsVersion = JSON.parse(fs.readFileSync(new URL('./node_modules/yjs/package.json', import.meta.url), 'utf8')).version
process.stdout.write(JSON.stringify({ yjs: yjsVersion, cases }))
