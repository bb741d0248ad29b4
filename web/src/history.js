// The history panel: the document's op log (GET /api/docs/<doc>/history) as a slider and a
// list of changes grouped by author, and a read-only view of the document as of any record
// (GET /api/docs/<doc>/history?at=SEQ), with the blocks that record changed marked in the
// author's colour.
import { DOMSerializer } from 'prosemirror-model'
import { schema, ROOT, AUTHORS } from './schema.js'
import { rootXML, xmlToDoc } from './xmldoc.js'
import { h, icon, ICONS, replaceChildren, relTime, clock, bytes } from './dom.js'
import { initials } from './identity.js'

const GREY = '#5b6b7c'
const GROUP_GAP_MS = 2 * 60 * 1000 // a pause this long starts a new group
const MAX_DESCRIBED = 60 // groups described (each needs two version fetches), newest first

const api = (docName) => `/api/docs/${encodeURIComponent(docName)}/history`

/** HistoryPanel owns the history sidebar and the read-only preview that replaces the editor. */
export class HistoryPanel {
  constructor ({ docName, panel, preview, editor, toolbar, ydoc, authors, awareness, onToggle }) {
    Object.assign(this, { docName, panel, preview, editor, toolbar, ydoc, authors, awareness, onToggle })
    this.ops = []
    this.groups = []
    this.index = -1 // selected op index, -1: live
    this.versions = new Map() // seq → Promise<version>
    this.descriptions = new Map() // "from-to" → Promise<string>
    this.isOpen = false
    this.loadSeq = 0
    this.refreshTimer = 0
    this.onUpdate = () => {
      if (!this.isOpen) return
      clearTimeout(this.refreshTimer)
      this.refreshTimer = setTimeout(() => this.load(), 900)
    }
    ydoc.on('update', this.onUpdate)
    this.poll = 0
    this.build()
  }

  build () {
    this.slider = h('input.slider', {
      type: 'range', min: '0', max: '0', value: '0', step: '1', 'aria-label': 'Version',
      oninput: () => this.select(+this.slider.value)
    })
    this.sliderLabel = h('div.slider-label')
    this.current = h('div.version-card')
    this.liveBtn = h('button.btn.btn-primary.live-btn', { type: 'button', onclick: () => this.backToLive() }, 'Back to live')
    this.list = h('ol.changes', { 'aria-label': 'Changes' })
    this.empty = h('p.muted.history-empty', { hidden: true }, 'No changes yet. Edits appear here as soon as the server stores them.')
    this.error = h('p.error', { hidden: true })
    replaceChildren(this.panel,
      h('div.history-head',
        h('h2', 'History'),
        h('button.icon-btn', { type: 'button', 'aria-label': 'Close history', onclick: () => this.close() }, icon(ICONS.close))),
      h('div.history-scrub', this.slider, this.sliderLabel),
      this.current,
      this.error,
      this.empty,
      this.list)
  }

  /** viewing reports whether a past version is on screen instead of the editor. */
  viewing () { return this.index >= 0 }

  toggle () { this.isOpen ? this.close() : this.open() }

  open () {
    this.isOpen = true
    this.panel.hidden = false
    this.onToggle(true)
    this.load()
    clearInterval(this.poll)
    // Server-side edits do not pass through our Y.Doc's update event when nobody is
    // connected; a slow poll keeps the list fresh.
    this.poll = setInterval(() => this.load(), 15000)
  }

  close () {
    this.isOpen = false
    clearInterval(this.poll)
    this.backToLive()
    this.panel.hidden = true
    this.onToggle(false)
  }

  destroy () {
    clearInterval(this.poll)
    clearTimeout(this.refreshTimer)
    this.ydoc.off('update', this.onUpdate)
  }

  async load () {
    const mySeq = ++this.loadSeq
    let ops
    try {
      const res = await fetch(api(this.docName), { headers: { Accept: 'application/json' } })
      if (res.status === 404) ops = []
      else if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`)
      else ops = await res.json()
      if (!Array.isArray(ops)) throw new Error('unexpected answer')
    } catch (err) {
      if (mySeq !== this.loadSeq) return
      this.error.hidden = false
      this.error.textContent = `Could not load the history: ${err.message}`
      return
    }
    if (mySeq !== this.loadSeq) return
    this.error.hidden = true
    ops.sort((a, b) => a.seq - b.seq)
    const wasLatest = this.index === this.ops.length - 1 || this.index < 0
    this.ops = ops
    this.connClient = new Map()
    for (const op of ops) if (op.conn && op.clients && op.clients.length) this.connClient.set(op.conn, op.clients[0])
    this.groups = this.group(ops)
    this.slider.max = String(Math.max(0, ops.length - 1))
    this.slider.disabled = ops.length === 0
    this.empty.hidden = ops.length > 0
    if (this.index >= ops.length) this.index = -1
    this.slider.value = String(this.index >= 0 ? this.index : Math.max(0, ops.length - 1))
    this.renderList()
    this.renderCurrent(this.index >= 0 ? this.index : ops.length - 1)
    if (!wasLatest && this.index >= 0) this.select(this.index)
  }

  // authorOf names who made op: the authors map of the live doc, else the connection's other
  // ops, else the live presence, else the authenticated user, else the client id.
  authorOf (op) {
    const ids = [...(op.clients || [])]
    if (ids.length === 0 && op.conn && this.connClient.has(op.conn)) ids.push(this.connClient.get(op.conn))
    for (const id of ids) {
      const a = this.authors.get(String(id))
      if (a && a.name) return { key: `c${id}`, name: String(a.name), color: String(a.color || GREY) }
      const st = this.awareness.getStates().get(id)
      if (st && st.user && st.user.name) return { key: `c${id}`, name: String(st.user.name), color: String(st.user.color || GREY) }
    }
    if (op.user) return { key: `u${op.user}`, name: op.user, color: GREY }
    if (ids.length) return { key: `c${ids[0]}`, name: `Client ${String(ids[0]).slice(-4)}`, color: GREY }
    if (!op.conn) return { key: 'server', name: 'Server', color: GREY }
    return { key: `k${op.conn}`, name: 'Someone', color: GREY }
  }

  group (ops) {
    const groups = []
    for (let i = 0; i < ops.length; i++) {
      const a = this.authorOf(ops[i])
      const g = groups[groups.length - 1]
      const t = new Date(ops[i].time).getTime()
      if (g && g.author.key === a.key && t - g.endTime < GROUP_GAP_MS) {
        g.to = i; g.endTime = t; g.bytes += ops[i].bytes || 0
      } else {
        groups.push({ from: i, to: i, author: a, startTime: t, endTime: t, bytes: ops[i].bytes || 0 })
      }
    }
    return groups
  }

  groupOf (i) { return this.groups.find((g) => g.from <= i && i <= g.to) }

  // version fetches the document as of seq (cached).
  version (seq) {
    if (seq <= 0) return Promise.resolve({ xml: '', doc: xmlToDoc(''), authors: {} })
    if (!this.versions.has(seq)) {
      const p = fetch(`${api(this.docName)}?at=${seq}`, { headers: { Accept: 'application/json' } })
        .then(async (res) => {
          if (res.status === 410) throw new Error('this part of the history was compacted')
          if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`)
          const json = await res.json()
          const xml = rootXML(json, ROOT)
          return { xml, doc: xmlToDoc(xml), authors: json[AUTHORS] || {} }
        })
      p.catch(() => this.versions.delete(seq))
      this.versions.set(seq, p)
    }
    return this.versions.get(seq)
  }

  // describe says in a few words what ops[from..to] did.
  describe (from, to) {
    const key = `${from}-${to}`
    if (!this.descriptions.has(key)) {
      const before = from > 0 ? this.ops[from - 1].seq : 0
      const p = Promise.all([this.version(before), this.version(this.ops[to].seq)])
        .then(([a, b]) => summarize(a, b))
        .catch(() => '')
      this.descriptions.set(key, p)
    }
    return this.descriptions.get(key)
  }

  renderList () {
    const items = []
    const newestFirst = [...this.groups].reverse()
    newestFirst.forEach((g, n) => {
      const desc = h('span.change-desc', n < MAX_DESCRIBED ? '…' : '')
      const count = g.to - g.from + 1
      const li = h('li.change', {
        dataset: { from: String(g.from), to: String(g.to), author: g.author.name },
        style: { '--author': g.author.color }
      },
      h('button.change-btn', { type: 'button', onclick: () => this.select(g.to) },
        h('span.avatar.small', { style: { backgroundColor: g.author.color } }, initials(g.author.name)),
        h('span.change-main',
          h('span.change-who', g.author.name),
          desc,
          h('span.change-when', `${relTime(g.endTime)} · ${count} edit${count === 1 ? '' : 's'} · ${bytes(g.bytes)}`))))
      if (n < MAX_DESCRIBED) this.describe(g.from, g.to).then((d) => { desc.textContent = d || 'edited' })
      items.push(li)
    })
    replaceChildren(this.list, items)
    this.markSelected()
  }

  markSelected () {
    const i = this.index >= 0 ? this.index : this.ops.length - 1
    for (const li of this.list.children) {
      const on = +li.dataset.from <= i && i <= +li.dataset.to
      li.classList.toggle('selected', on)
    }
  }

  renderCurrent (i) {
    if (i < 0 || !this.ops[i]) {
      replaceChildren(this.current)
      return
    }
    const op = this.ops[i]
    const a = this.authorOf(op)
    const desc = h('div.version-desc', '…')
    this.describe(i, i).then((d) => { desc.textContent = d || 'edited' })
    this.sliderLabel.textContent = this.index < 0 ? `Now · ${this.ops.length} changes` : `Change ${i + 1} of ${this.ops.length}`
    replaceChildren(this.current,
      h('div.version-who', h('span.avatar.small', { style: { backgroundColor: a.color } }, initials(a.name)),
        h('span', h('strong', a.name), h('span.muted', ` · ${clock(op.time)} · #${op.seq}`))),
      desc,
      this.index >= 0 ? this.liveBtn : null)
  }

  /** select shows the document as of ops[i] in place of the editor. */
  async select (i) {
    if (!this.ops[i]) return
    this.index = i
    this.slider.value = String(i)
    this.markSelected()
    this.renderCurrent(i)
    this.editor.hidden = true
    this.toolbar.hidden = true
    this.preview.hidden = false
    const op = this.ops[i]
    const a = this.authorOf(op)
    const mine = this.selectToken = {}
    const banner = h('div.preview-banner', { style: { '--author': a.color } },
      h('span.preview-badge', 'Past version'),
      h('span.preview-meta', `${when(op.time)} · change ${i + 1} of ${this.ops.length} · by `, h('strong', a.name)),
      h('button.btn.btn-small', { type: 'button', onclick: () => this.backToLive() }, 'Back to live'))
    const body = h('div.doc-content.preview-content', { dataset: { seq: String(op.seq) } }, h('p.muted', 'Loading…'))
    replaceChildren(this.preview, banner, body)
    try {
      const [before, now] = await Promise.all([this.version(i > 0 ? this.ops[i - 1].seq : 0), this.version(op.seq)])
      if (mine !== this.selectToken) return
      const frag = DOMSerializer.fromSchema(schema).serializeFragment(now.doc.content)
      replaceChildren(body, frag)
      markChanged(body, blockKeys(before.doc), blockKeys(now.doc), a.color)
      if (now.doc.textContent === '' && now.doc.childCount <= 1) body.append(h('p.muted.preview-empty', 'The document was empty at this point.'))
    } catch (err) {
      if (mine !== this.selectToken) return
      replaceChildren(body, h('p.error', `Could not load this version: ${err.message}`))
    }
  }

  /** backToLive hides the past version and shows the editor again. */
  backToLive () {
    this.index = -1
    this.selectToken = {}
    this.preview.hidden = true
    replaceChildren(this.preview)
    this.editor.hidden = false
    this.toolbar.hidden = false
    this.slider.value = String(Math.max(0, this.ops.length - 1))
    this.markSelected()
    this.renderCurrent(this.ops.length - 1)
  }
}

// markChanged flags the top-level blocks of body that are new or different from before.
function markChanged (body, before, after, color) {
  const keep = lcsKeep(before, after)
  const blocks = [...body.children]
  after.forEach((_, j) => {
    if (!keep[j] && blocks[j]) {
      blocks[j].classList.add('changed')
      blocks[j].style.setProperty('--author', color)
    }
  })
}

// lcsKeep returns, for each entry of b, whether it is part of a longest common subsequence
// with a (so unchanged).
function lcsKeep (a, b) {
  const n = a.length; const m = b.length
  if (n * m > 250000) return b.map((x, j) => a[j] === x)
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1])
    }
  }
  const keep = new Array(m).fill(false)
  let i = 0; let j = 0
  while (i < n && j < m) {
    if (a[i] === b[j]) { keep[j] = true; i++; j++ } else if (dp[i + 1][j] >= dp[i][j + 1]) i++
    else j++
  }
  return keep
}

// when renders a time of day, with the date when it is not today.
const when = (t) => {
  const d = new Date(t)
  return d.toDateString() === new Date().toDateString()
    ? clock(d)
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
}

const snip = (s) => {
  const t = s.replace(/\s+/g, ' ').trim()
  return t.length > 48 ? `“${t.slice(0, 46)}…”` : `“${t}”`
}

// blockKeys identifies each top-level block by its content and formatting.
const blockKeys = (doc) => {
  const out = []
  doc.forEach((n) => out.push(JSON.stringify(n.toJSON())))
  return out
}

// fullText is the document's text with a line break between blocks, list items included.
const fullText = (doc) => doc.textBetween(0, doc.content.size, '\n', ' ')

// summarize compares two versions and says what changed.
function summarize (a, b) {
  const x = fullText(a.doc)
  const y = fullText(b.doc)
  if (x === y) {
    if (a.xml !== b.xml) return 'changed formatting'
    const newAuthors = Object.keys(b.authors || {}).filter((k) => !(a.authors || {})[k])
    if (newAuthors.length) return 'joined the document'
    return 'updated their name'
  }
  let p = 0
  while (p < x.length && p < y.length && x[p] === y[p]) p++
  let s = 0
  while (s < x.length - p && s < y.length - p && x[x.length - 1 - s] === y[y.length - 1 - s]) s++
  const removed = x.slice(p, x.length - s)
  const added = y.slice(p, y.length - s)
  if (removed.trim() === '' && added.trim() === '') {
    const lines = added.includes('\n') || removed.includes('\n')
    if (added.length >= removed.length) return lines ? 'added a line' : 'added a space'
    return lines ? 'removed a line' : 'removed a space'
  }
  if (removed.trim() === '') return `added ${snip(added)}`
  if (added.trim() === '') return `deleted ${snip(removed)}`
  return `replaced ${snip(removed)} with ${snip(added)}`
}
