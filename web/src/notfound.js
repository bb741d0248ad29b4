// The page for /d/<name> when name is not a valid document name.
import { h, icon, ICONS, replaceChildren } from './dom.js'

/** mountNotFound explains that name cannot be a document and links back to the start page. */
export function mountNotFound (app, name) {
  document.title = 'Not a document · Tandem'
  replaceChildren(app,
    h('header.topbar.topbar-home', h('a.brand', { href: '/' }, h('span.brand-mark'), h('span.brand-name', 'Tandem'))),
    h('main.home', h('div.doc-list', h('div.empty',
      icon(ICONS.doc),
      h('p', h('strong', `“${name}” is not a document name.`)),
      h('p.muted', 'Names use letters, digits and . _ ~ - (up to 128).'),
      h('p', h('a.btn.btn-primary', { href: '/', style: { marginTop: '14px', textDecoration: 'none' } }, 'All documents'))))))
  return () => {}
}
