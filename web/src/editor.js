// The editor page (/d/<doc>): ProseMirror bound to the document's Y.XmlFragment "prosemirror"
// through y-prosemirror, synced with the stock y-websocket provider at /sync/<doc>.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { ySyncPlugin, yCursorPlugin, yUndoPlugin, undoCommand, redoCommand } from 'y-prosemirror'
import { EditorState } from 'prosemirror-state'
import { EditorView } from 'prosemirror-view'
import { keymap } from 'prosemirror-keymap'
import { baseKeymap, toggleMark, setBlockType, wrapIn, lift } from 'prosemirror-commands'
import { wrapInList, splitListItem, liftListItem, sinkListItem } from 'prosemirror-schema-list'
import { inputRules, wrappingInputRule, textblockTypeInputRule } from 'prosemirror-inputrules'
import { schema, ROOT, AUTHORS } from './schema.js'
import { h, icon, ICONS, replaceChildren } from './dom.js'
import { loadUser, saveUser, cleanName, initials, lighten, COLORS } from './identity.js'
import { HistoryPanel } from './history.js'

// Origin of our own writes to the authors map, so the undo manager leaves them alone.
const AUTHOR_ORIGIN = 'tandem-author'

/** syncURL returns the y-websocket server URL (the provider appends "/<room>"). */
const syncURL = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`

// cursorBuilder draws a remote caret with a name flag in the user's colour.
const cursorBuilder = (user) => {
  const caret = h('span.ProseMirror-yjs-cursor.remote-cursor', {
    style: { borderColor: user.color },
    dataset: { name: user.name }
  })
  caret.append('\u2060', h('span.remote-cursor-label', { style: { backgroundColor: user.color } }, user.name), '\u2060')
  return caret
}

const selectionBuilder = (user) => ({
  style: `background-color: ${user.color}33`,
  class: 'ProseMirror-yjs-selection'
})

// markActive reports whether the mark is on at the selection.
const markActive = (state, type) => {
  const { from, $from, to, empty } = state.selection
  if (empty) return !!type.isInSet(state.storedMarks || $from.marks())
  return state.doc.rangeHasMark(from, to, type)
}

const blockActive = (state, type, attrs) => {
  const { $from } = state.selection
  for (let d = $from.depth; d > 0; d--) {
    const n = $from.node(d)
    if (n.type === type && (!attrs || Object.entries(attrs).every(([k, v]) => n.attrs[k] === v))) return true
  }
  return false
}

const inList = (state, type) => blockActive(state, type)

// toggleBlock switches between a block type and a paragraph.
const toggleBlock = (type, attrs) => (state, dispatch, view) =>
  blockActive(state, type, attrs)
    ? setBlockType(schema.nodes.paragraph)(state, dispatch, view)
    : setBlockType(type, attrs)(state, dispatch, view)

// toggleList wraps in a list, or lifts out of it when already in that kind of list.
const toggleList = (type) => (state, dispatch, view) =>
  inList(state, type)
    ? liftListItem(schema.nodes.list_item)(state, dispatch, view)
    : wrapInList(type)(state, dispatch, view)

const rules = inputRules({
  rules: [
    textblockTypeInputRule(/^(#{1,3})\s$/, schema.nodes.heading, (m) => ({ level: m[1].length })),
    wrappingInputRule(/^\s*([-+*])\s$/, schema.nodes.bullet_list),
    wrappingInputRule(/^(\d+)\.\s$/, schema.nodes.ordered_list, (m) => ({ order: +m[1] }),
      (m, node) => node.childCount + node.attrs.order === +m[1]),
    wrappingInputRule(/^\s*>\s$/, schema.nodes.blockquote)
  ]
})

/** mountEditor renders the editor page for docName into app and returns a cleanup function. */
export function mountEditor (app, docName) {
  document.title = `${docName} · Tandem`
  let user = loadUser()

  const ydoc = new Y.Doc()
  const fragment = ydoc.getXmlFragment(ROOT)
  const authors = ydoc.getMap(AUTHORS)
  const provider = new WebsocketProvider(syncURL(), encodeURIComponent(docName), ydoc, { maxBackoffTime: 4000 })
  const awareness = provider.awareness
  const setAwarenessUser = () =>
    awareness.setLocalStateField('user', { name: user.name, color: user.color, colorLight: lighten(user.color, 0.8) })
  setAwarenessUser()

  // --- layout ---------------------------------------------------------------------------
  const statusEl = h('div.status', { dataset: { status: 'connecting' }, role: 'status', 'aria-live': 'polite' },
    h('span.status-dot'), h('span.status-label', 'Connecting…'), h('span.status-short', 'Connecting'))
  const peopleEl = h('div.people', { 'aria-label': 'People here' })
  const peopleCount = h('span.people-count')
  const peopleMenu = h('div.popover.people-menu', { hidden: true })
  const peopleBtn = h('button.people-btn', {
    type: 'button', title: 'Who is here', 'aria-haspopup': 'true',
    onclick: (e) => { e.stopPropagation(); togglePopover(peopleMenu) }
  }, peopleEl, peopleCount)

  const meAvatar = h('span.avatar')
  const meName = h('span.me-name')
  const meMenu = buildMeMenu()
  const meBtn = h('button.me-btn', {
    type: 'button', title: 'Your name and colour',
    onclick: (e) => { e.stopPropagation(); togglePopover(meMenu); meMenu.querySelector('input')?.select() }
  }, meAvatar, meName)

  const historyBtn = h('button.btn.btn-ghost.history-btn', {
    type: 'button', 'aria-pressed': 'false', onclick: () => history.toggle()
  }, icon(ICONS.history), h('span.btn-label', 'History'))

  const toolbar = h('div.toolbar', { role: 'toolbar', 'aria-label': 'Formatting' })
  const editorEl = h('div.editor-host')
  const previewEl = h('div.preview', { hidden: true })
  const paper = h('section.paper', toolbar, editorEl, previewEl)
  const historyEl = h('aside.history', { hidden: true, 'aria-label': 'History' })

  const shareBtn = h('button.btn.btn-ghost.share-btn', {
    type: 'button', title: 'Copy link',
    onclick: async () => {
      try { await navigator.clipboard.writeText(location.href); flash(shareBtn, 'Copied') } catch (_) { flash(shareBtn, 'Copy failed') }
    }
  }, icon(ICONS.copy), h('span.btn-label', 'Share'))

  replaceChildren(app,
    h('header.topbar',
      h('a.brand', { href: '/', title: 'All documents' }, h('span.brand-mark'), h('span.brand-name', 'Tandem')),
      h('span.crumb-sep', '/'),
      h('h1.doc-title', { title: docName }, docName),
      h('div.spacer'),
      statusEl,
      h('div.popover-anchor', peopleBtn, peopleMenu),
      h('div.popover-anchor', meBtn, meMenu),
      shareBtn,
      historyBtn),
    h('main.editor-layout', paper, historyEl))

  // --- ProseMirror ----------------------------------------------------------------------
  let history = null
  const buttons = []
  const addButton = (label, iconPaths, text, cmd, isActive, key) => {
    const b = h('button.tool', {
      type: 'button', title: key ? `${label} (${key})` : label, 'aria-label': label, 'aria-pressed': 'false',
      dataset: { cmd: label.toLowerCase().replace(/\s+/g, '-') },
      onmousedown: (e) => e.preventDefault(),
      onclick: () => { cmd(view.state, view.dispatch, view); view.focus() }
    }, iconPaths ? icon(iconPaths) : h('span.tool-text', text))
    buttons.push({ b, cmd, isActive })
    toolbar.append(b)
  }
  const sep = () => toolbar.append(h('span.tool-sep'))
  const mod = /Mac|iP(hone|ad)/.test(navigator.platform) ? '⌘' : 'Ctrl+'
  addButton('Bold', ICONS.bold, null, toggleMark(schema.marks.strong), (s) => markActive(s, schema.marks.strong), `${mod}B`)
  addButton('Italic', ICONS.italic, null, toggleMark(schema.marks.em), (s) => markActive(s, schema.marks.em), `${mod}I`)
  sep()
  addButton('Heading 1', null, 'H1', toggleBlock(schema.nodes.heading, { level: 1 }), (s) => blockActive(s, schema.nodes.heading, { level: 1 }))
  addButton('Heading 2', null, 'H2', toggleBlock(schema.nodes.heading, { level: 2 }), (s) => blockActive(s, schema.nodes.heading, { level: 2 }))
  addButton('Quote', ICONS.quote, null, (s, d) => blockActive(s, schema.nodes.blockquote)
    ? lift(s, d)
    : wrapIn(schema.nodes.blockquote)(s, d), (s) => blockActive(s, schema.nodes.blockquote))
  sep()
  addButton('Bullet list', ICONS.bullet, null, toggleList(schema.nodes.bullet_list), (s) => inList(s, schema.nodes.bullet_list))
  addButton('Numbered list', ICONS.ordered, null, toggleList(schema.nodes.ordered_list), (s) => inList(s, schema.nodes.ordered_list))
  sep()
  addButton('Undo', ICONS.undo, null, undoCommand, null, `${mod}Z`)
  addButton('Redo', ICONS.redo, null, redoCommand, null, `${mod}Shift+Z`)

  let view = null
  view = new EditorView(editorEl, {
    state: EditorState.create({
      schema,
      plugins: [
        ySyncPlugin(fragment),
        yCursorPlugin(awareness, { cursorBuilder, selectionBuilder }),
        yUndoPlugin(),
        rules,
        keymap({
          'Mod-z': undoCommand,
          'Mod-y': redoCommand,
          'Mod-Shift-z': redoCommand,
          'Mod-b': toggleMark(schema.marks.strong),
          'Mod-i': toggleMark(schema.marks.em),
          'Mod-Alt-1': setBlockType(schema.nodes.heading, { level: 1 }),
          'Mod-Alt-2': setBlockType(schema.nodes.heading, { level: 2 }),
          'Mod-Alt-0': setBlockType(schema.nodes.paragraph),
          Enter: splitListItem(schema.nodes.list_item),
          Tab: sinkListItem(schema.nodes.list_item),
          'Shift-Tab': liftListItem(schema.nodes.list_item)
        }),
        keymap(baseKeymap)
      ]
    }),
    attributes: { class: 'doc-content', spellcheck: 'true', 'aria-label': `Document ${docName}` },
    dispatchTransaction (tr) {
      this.updateState(this.state.apply(tr))
      updateToolbar()
    }
  })
  function updateToolbar () {
    if (!view) return
    for (const { b, cmd, isActive } of buttons) {
      const enabled = cmd(view.state, undefined, view) !== false
      b.disabled = !enabled && !(isActive && isActive(view.state))
      const on = !!(isActive && isActive(view.state))
      b.classList.toggle('active', on)
      b.setAttribute('aria-pressed', String(on))
    }
  }
  updateToolbar()
  editorEl.dataset.placeholder = 'Start writing…'
  const updateEmpty = () => editorEl.classList.toggle('is-empty',
    view.state.doc.childCount <= 1 && view.state.doc.textContent === '' && view.state.doc.firstChild?.type === schema.nodes.paragraph)
  ydoc.on('afterTransaction', updateEmpty)
  updateEmpty()

  // --- authors: who each Yjs client id is, stored in the document for the history view ---
  const registerAuthor = () => {
    const cur = authors.get(String(ydoc.clientID))
    if (cur && cur.name === user.name && cur.color === user.color) return
    ydoc.transact(() => authors.set(String(ydoc.clientID), { name: user.name, color: user.color }), AUTHOR_ORIGIN)
  }
  ydoc.on('afterTransaction', (tr) => {
    if (tr.local && tr.origin !== AUTHOR_ORIGIN && tr.changedParentTypes.size > 0 && !authors.has(String(ydoc.clientID))) {
      queueMicrotask(registerAuthor)
    }
  })

  // --- connection status ----------------------------------------------------------------
  let wsStatus = 'connecting'
  let unsynced = 0 // local edits made while not live
  ydoc.on('update', (_u, origin) => {
    if (origin !== provider && !(wsStatus === 'connected' && provider.synced)) unsynced++
  })
  const renderStatus = () => {
    let s = 'connecting'; let label = 'Connecting…'; let title = 'Connecting to the server'
    if (wsStatus === 'connected' && provider.synced) {
      s = 'live'; label = 'Live'; title = 'Connected: changes sync instantly'
      unsynced = 0
    } else if (wsStatus === 'disconnected' || (!navigator.onLine && wsStatus !== 'connected')) {
      s = 'offline'
      label = unsynced > 0 ? `Offline · ${unsynced} edit${unsynced === 1 ? '' : 's'} kept` : 'Offline'
      title = 'Offline: keep writing, your edits stay in this tab and sync when the connection returns'
    } else if (wsStatus === 'connected') {
      label = 'Syncing…'
    }
    statusEl.dataset.status = s
    statusEl.title = title
    statusEl.querySelector('.status-label').textContent = label
    statusEl.querySelector('.status-short').textContent = s === 'offline' && unsynced > 0 ? `Offline · ${unsynced}` : label.replace('…', '')
  }
  provider.on('status', ({ status }) => { wsStatus = status; renderStatus() })
  provider.on('sync', renderStatus)
  // 4400–4499: the server refused this document or this client for good (see docsync/close.go).
  provider.on('connection-close', (ev) => {
    if (ev && ev.code >= 4400 && ev.code < 4500) {
      statusEl.dataset.status = 'offline'
      statusEl.title = `The server refused the connection (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`
      statusEl.querySelector('.status-label').textContent = 'Refused'
      statusEl.querySelector('.status-short').textContent = 'Refused'
    }
  })
  ydoc.on('update', () => { if (statusEl.dataset.status === 'offline') renderStatus() })
  window.addEventListener('online', renderStatus)
  window.addEventListener('offline', renderStatus)

  // --- presence -------------------------------------------------------------------------
  const renderPeople = () => {
    const seen = new Map()
    for (const [id, st] of awareness.getStates()) {
      if (!st || !st.user || !st.user.name) continue
      seen.set(id, { id, name: String(st.user.name), color: String(st.user.color || '#5b6b7c'), me: id === ydoc.clientID })
    }
    if (!seen.has(ydoc.clientID)) seen.set(ydoc.clientID, { id: ydoc.clientID, name: user.name, color: user.color, me: true })
    const list = [...seen.values()].sort((a, b) => (b.me - a.me) || a.name.localeCompare(b.name))
    const shown = list.slice(0, 4)
    replaceChildren(peopleEl, shown.map((p) => h('span.avatar.person', {
      title: p.me ? `${p.name} (you)` : p.name, dataset: { name: p.name, me: p.me ? 'true' : 'false' },
      style: { backgroundColor: p.color }
    }, initials(p.name))), list.length > shown.length ? h('span.avatar.more', `+${list.length - shown.length}`) : null)
    peopleCount.textContent = list.length === 1 ? 'Just you' : `${list.length} here`
    replaceChildren(peopleMenu,
      h('div.popover-title', 'Here now'),
      h('ul.people-list', list.map((p) => h('li.people-item', { dataset: { name: p.name } },
        h('span.avatar.small', { style: { backgroundColor: p.color } }, initials(p.name)),
        h('span.people-name', p.name), p.me ? h('span.you-tag', 'you') : null))))
  }
  awareness.on('change', renderPeople)
  renderPeople()

  // --- me: name and colour --------------------------------------------------------------
  function buildMeMenu () {
    const input = h('input.input', { type: 'text', maxlength: '40', 'aria-label': 'Your name', autocomplete: 'nickname' })
    const swatches = h('div.swatches', { role: 'radiogroup', 'aria-label': 'Your colour' })
    const menu = h('form.popover.me-menu', {
      hidden: true,
      onsubmit: (e) => { e.preventDefault(); setName(input.value); menu.hidden = true },
      onclick: (e) => e.stopPropagation()
    },
    h('label.popover-title', 'Your name'), input,
    h('div.popover-title', 'Colour'), swatches,
    h('div.popover-actions', h('button.btn.btn-primary', { type: 'submit' }, 'Save')))
    // refresh redraws the swatches; opening (full) also resets the name field.
    menu.refresh = (full = true) => {
      if (full) input.value = user.name
      replaceChildren(swatches, COLORS.map((c) => h('button.swatch', {
        type: 'button', role: 'radio', 'aria-checked': String(c === user.color), 'aria-label': c,
        style: { backgroundColor: c }, onclick: () => setUser({ ...user, color: c })
      })))
    }
    return menu
  }
  const setName = (n) => { const name = cleanName(n); if (name) setUser({ ...user, name }) }
  const setUser = (u) => {
    user = u
    saveUser(user)
    setAwarenessUser()
    if (authors.has(String(ydoc.clientID))) registerAuthor()
    renderMe()
    renderPeople()
  }
  const renderMe = () => {
    meAvatar.textContent = initials(user.name)
    meAvatar.style.backgroundColor = user.color
    meName.textContent = user.name
    meMenu.refresh(meMenu.hidden)
  }
  renderMe()
  // Another tab of this browser changed the identity.
  const onStorage = (e) => { if (e.key === 'tandem.user') { user = loadUser(); setAwarenessUser(); renderMe(); renderPeople() } }
  window.addEventListener('storage', onStorage)

  // --- popovers -------------------------------------------------------------------------
  function togglePopover (el) {
    const open = el.hidden
    for (const p of app.querySelectorAll('.popover')) p.hidden = true
    el.hidden = !open
    if (open && el.refresh) el.refresh()
  }
  const closePopovers = () => { for (const p of app.querySelectorAll('.popover')) p.hidden = true }
  document.addEventListener('click', closePopovers)
  const onKey = (e) => { if (e.key === 'Escape') { closePopovers(); if (history && history.viewing()) history.backToLive() } }
  document.addEventListener('keydown', onKey)

  // --- history --------------------------------------------------------------------------
  history = new HistoryPanel({
    docName, panel: historyEl, preview: previewEl, editor: editorEl, toolbar, ydoc, authors, awareness,
    onToggle: (open) => {
      historyBtn.setAttribute('aria-pressed', String(open))
      historyBtn.classList.toggle('active', open)
      app.querySelector('.editor-layout').classList.toggle('with-history', open)
    }
  })
  if (new URLSearchParams(location.search).has('history')) history.open()

  view.focus()
  window.tandem = { ydoc, provider, view, docName } // for debugging from the console

  return () => {
    history.destroy()
    document.removeEventListener('click', closePopovers)
    document.removeEventListener('keydown', onKey)
    window.removeEventListener('storage', onStorage)
    window.removeEventListener('online', renderStatus)
    window.removeEventListener('offline', renderStatus)
    view.destroy()
    provider.destroy()
    ydoc.destroy()
  }
}

const flash = (btn, text) => {
  const label = btn.querySelector('.btn-label')
  if (!label) return
  const old = label.textContent
  label.textContent = text
  setTimeout(() => { label.textContent = old }, 1400)
}
