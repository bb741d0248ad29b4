// Small DOM helpers: the pages are built with these instead of a framework.

/**
 * h creates an element: h('div.card#main', {onclick, title, ...}, child, ...). Children may be
 * strings, nodes, arrays or null. Attributes starting with "on" become listeners; `dataset`
 * and `style` objects are assigned.
 */
export const h = (tag, attrs, ...children) => {
  const [, name = 'div', rest = ''] = /^([a-z0-9-]*)(.*)$/i.exec(tag)
  const el = document.createElement(name || 'div')
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1))
    else el.id = part.slice(1)
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs)
    attrs = null
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'dataset') Object.assign(el.dataset, v)
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v)
    else if (k === 'class') el.className = v
    else el.setAttribute(k, v === true ? '' : v)
  }
  append(el, children)
  return el
}

const append = (el, children) => {
  for (const c of children) {
    if (c == null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

/** clear removes all children of el and appends the given ones. */
export const replaceChildren = (el, ...children) => {
  el.textContent = ''
  append(el, children)
}

/** relTime renders a date as "just now", "5 min ago", "yesterday", or a date. */
export const relTime = (date, now = Date.now()) => {
  const t = new Date(date).getTime()
  if (!Number.isFinite(t) || t <= 0) return '—'
  const s = Math.round((now - t) / 1000)
  if (s < 45) return 'just now'
  if (s < 90) return '1 min ago'
  const m = Math.round(s / 60)
  if (m < 60) return `${m} min ago`
  const hr = Math.round(m / 60)
  if (hr < 24) return `${hr} h ago`
  const d = Math.round(hr / 24)
  if (d === 1) return 'yesterday'
  if (d < 7) return `${d} days ago`
  return new Date(t).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
}

/** clock renders a date as a local time of day, with seconds. */
export const clock = (date) =>
  new Date(date).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** bytes renders a byte count for people. */
export const bytes = (n) => {
  if (!(n >= 0)) return '—'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/** icon returns an inline SVG icon from a path list (24×24 viewBox, stroked). */
export const icon = (paths, label) => {
  const ns = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('class', 'icon')
  svg.setAttribute('aria-hidden', 'true')
  for (const d of paths) {
    const p = document.createElementNS(ns, 'path')
    p.setAttribute('d', d)
    svg.append(p)
  }
  if (label) svg.setAttribute('aria-label', label)
  return svg
}

/** Icon paths used across the pages. */
export const ICONS = {
  bold: ['M7 5h6a3.5 3.5 0 0 1 0 7H7z', 'M7 12h7a3.5 3.5 0 0 1 0 7H7z'],
  italic: ['M19 4h-9', 'M14 20H5', 'M15 4 9 20'],
  bullet: ['M9 6h11', 'M9 12h11', 'M9 18h11', 'M4.5 6h.01', 'M4.5 12h.01', 'M4.5 18h.01'],
  ordered: ['M10 6h10', 'M10 12h10', 'M10 18h10', 'M4 5l1-1v5', 'M4 14.5a1.2 1.2 0 0 1 2 .8c0 1-2 1.7-2 3.2h2.2'],
  undo: ['M9 14 4 9l5-5', 'M4 9h10.5a5.5 5.5 0 0 1 0 11H11'],
  redo: ['m15 14 5-5-5-5', 'M20 9H9.5a5.5 5.5 0 0 0 0 11H13'],
  history: ['M3 12a9 9 0 1 0 3-6.7L3 8', 'M3 3v5h5', 'M12 7v5l3 2'],
  close: ['M18 6 6 18', 'm6 6 12 12'],
  plus: ['M12 5v14', 'M5 12h14'],
  doc: ['M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z', 'M14 3v5h5', 'M9 13h6', 'M9 17h4'],
  back: ['m15 18-6-6 6-6'],
  quote: ['M17 6H3', 'M21 12H8', 'M21 18H8', 'M3 12v6'],
  copy: ['M9 9h10v10H9z', 'M5 15V5h10']
}
