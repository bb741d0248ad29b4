// Entry point: a two-page app routed by path. "/" is the start page, "/d/<doc>" the editor.
import './style.css'
import { mountHome } from './home.js'
import { mountEditor } from './editor.js'
import { mountNotFound } from './notfound.js'
import { NAME } from './home.js'

const app = document.getElementById('app')
let cleanup = () => {}

const route = () => {
  cleanup()
  const m = /^\/d\/([^/]+)\/?$/.exec(location.pathname)
  if (m) {
    let name
    try { name = decodeURIComponent(m[1]) } catch (_) { name = m[1] }
    cleanup = NAME.test(name) ? mountEditor(app, name) : mountNotFound(app, name)
  } else {
    cleanup = mountHome(app, navigate)
  }
}

function navigate (path) {
  history.pushState(null, '', path)
  route()
}

window.addEventListener('popstate', route)
route()
