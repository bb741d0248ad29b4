// The start page (/): the stored documents from GET /api/docs and a form to start a new one.
import { h, icon, ICONS, replaceChildren, relTime, bytes } from './dom.js'
import { loadUser, initials } from './identity.js'

/** NAME matches the document names the server accepts (docsync.ValidName). */
export const NAME = /^[A-Za-z0-9._~-]{1,128}$/

const WORDS = ['notes', 'plan', 'draft', 'ideas', 'agenda', 'brief', 'journal', 'outline', 'memo', 'story']

// slug turns what someone typed into a valid document name.
export const slug = (s) => String(s).trim().toLowerCase()
  .replace(/\s+/g, '-').replace(/[^a-z0-9._~-]/g, '').replace(/-{2,}/g, '-').slice(0, 128)

const suggestion = () => {
  const d = new Date()
  return `${WORDS[Math.floor(Math.random() * WORDS.length)]}-${d.toISOString().slice(5, 10)}`
}

/** mountHome renders the start page into app and returns a cleanup function. */
export function mountHome (app, navigate) {
  document.title = 'Tandem'
  const user = loadUser()
  const input = h('input.input.input-lg#new-name', {
    type: 'text', placeholder: suggestion(), 'aria-label': 'New document name', autocomplete: 'off',
    spellcheck: 'false', maxlength: '128', oninput: () => validate()
  })
  const hint = h('p.hint', 'Letters, digits and . _ ~ - (spaces become dashes).')
  const createBtn = h('button.btn.btn-primary.btn-lg#create', { type: 'submit' }, icon(ICONS.plus), 'Create')
  const validate = () => {
    const v = input.value.trim()
    const name = v ? slug(v) : ''
    const ok = !v || NAME.test(name)
    hint.classList.toggle('error', !ok)
    hint.textContent = !v ? 'Letters, digits and . _ ~ - (spaces become dashes).'
      : ok ? `Opens /d/${name}` : 'Use letters, digits and . _ ~ -'
    return ok
  }
  const form = h('form.create', {
    onsubmit: (e) => {
      e.preventDefault()
      const name = slug(input.value || input.placeholder)
      if (!NAME.test(name)) { validate(); input.focus(); return }
      navigate(`/d/${encodeURIComponent(name)}`)
    }
  }, h('div.create-row', input, createBtn), hint)

  const listEl = h('div.doc-list', h('div.doc-skeleton'), h('div.doc-skeleton'), h('div.doc-skeleton'))
  const countEl = h('span.muted.count')

  replaceChildren(app,
    h('header.topbar.topbar-home',
      h('a.brand', { href: '/' }, h('span.brand-mark'), h('span.brand-name', 'Tandem')),
      h('div.spacer'),
      h('span.me-static', { title: 'Your name in documents (change it in any document)' },
        h('span.avatar', { style: { backgroundColor: user.color } }, initials(user.name)),
        h('span.me-name', user.name))),
    h('main.home',
      h('section.hero',
        h('h1', 'Write together, in real time.'),
        h('p.lead', 'Every keystroke syncs live to everyone in the document, and every change is kept, so you can look back at any earlier version.'),
        form),
      h('section.docs',
        h('div.section-head', h('h2', 'Documents'), countEl),
        listEl)))
  if (matchMedia('(pointer: fine)').matches) input.focus()

  let stopped = false
  const load = async () => {
    try {
      const res = await fetch('/api/docs', { headers: { Accept: 'application/json' } })
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`)
      const docs = await res.json()
      if (stopped) return
      renderDocs(Array.isArray(docs) ? docs : [])
    } catch (err) {
      if (stopped) return
      replaceChildren(listEl, h('div.empty', h('p.error', `Could not load documents: ${err.message}`),
        h('button.btn', { type: 'button', onclick: load }, 'Try again')))
    }
  }
  const renderDocs = (docs) => {
    docs.sort((a, b) => new Date(b.lastEdit) - new Date(a.lastEdit) || String(a.name).localeCompare(b.name))
    countEl.textContent = docs.length ? `${docs.length}` : ''
    if (docs.length === 0) {
      replaceChildren(listEl, h('div.empty',
        icon(ICONS.doc),
        h('p', h('strong', 'No documents yet.')),
        h('p.muted', 'Create one above, then share its link with whoever you want to write with.')))
      return
    }
    replaceChildren(listEl, docs.map((d) => {
      const href = `/d/${encodeURIComponent(d.name)}`
      return h('a.doc-row', {
        href, dataset: { name: d.name },
        onclick: (e) => { if (!e.metaKey && !e.ctrlKey && !e.shiftKey && e.button === 0) { e.preventDefault(); navigate(href) } }
      },
      h('span.doc-icon', icon(ICONS.doc)),
      h('span.doc-main', h('span.doc-name', d.name),
        h('span.doc-meta', `${d.ops ?? 0} change${d.ops === 1 ? '' : 's'} · ${bytes(d.bytes)}`)),
      d.loaded ? h('span.badge.badge-live', 'open now') : null,
      h('span.doc-when', relTime(d.lastEdit)))
    }))
  }
  load()
  const timer = setInterval(load, 10000)
  return () => { stopped = true; clearInterval(timer) }
}
