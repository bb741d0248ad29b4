// The local user's identity: a friendly name and a colour, kept in localStorage so the same
// browser keeps the same identity across documents and reloads.

const KEY = 'tandem.user'

// Colours chosen to read well as cursor flags with white text, on a white page.
export const COLORS = [
  '#e5484d', '#f76b15', '#d6a400', '#30a46c', '#12a594', '#0090ff',
  '#3e63dd', '#8e4ec6', '#d6409f', '#7c5e10', '#5b6b7c', '#0d7d8a'
]

const ADJECTIVES = [
  'Amber', 'Brave', 'Calm', 'Clever', 'Cosy', 'Curious', 'Daring', 'Eager', 'Gentle', 'Happy',
  'Jolly', 'Kind', 'Lucky', 'Merry', 'Nimble', 'Patient', 'Quick', 'Quiet', 'Sunny', 'Swift',
  'Tidy', 'Witty', 'Wise', 'Zesty'
]
const ANIMALS = [
  'Badger', 'Beaver', 'Crane', 'Dolphin', 'Falcon', 'Fox', 'Gecko', 'Hedgehog', 'Heron', 'Koala',
  'Lynx', 'Marmot', 'Otter', 'Owl', 'Panda', 'Puffin', 'Rabbit', 'Robin', 'Seal', 'Sparrow',
  'Squirrel', 'Tiger', 'Walrus', 'Wombat'
]

const pick = (list) => list[Math.floor(Math.random() * list.length)]

/** randomUser returns a fresh friendly identity. */
export const randomUser = () => ({ name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`, color: pick(COLORS) })

/** cleanName trims a user-typed name to something displayable, or '' if nothing is left. */
export const cleanName = (s) => String(s ?? '').replace(/\s+/g, ' ').trim().slice(0, 40)

const isColor = (c) => typeof c === 'string' && /^#[0-9a-f]{6}$/i.test(c)

/** loadUser returns the stored identity, creating and storing one on first use. */
export const loadUser = () => {
  try {
    const u = JSON.parse(localStorage.getItem(KEY) || 'null')
    if (u && cleanName(u.name) && isColor(u.color)) return { name: cleanName(u.name), color: u.color }
  } catch (_) { /* unreadable: start over */ }
  const u = randomUser()
  saveUser(u)
  return u
}

/** saveUser stores the identity; storage failures (private mode, quota) are ignored. */
export const saveUser = (u) => {
  try { localStorage.setItem(KEY, JSON.stringify({ name: u.name, color: u.color })) } catch (_) {}
}

/** initials returns one or two letters for an avatar. */
export const initials = (name) => {
  const parts = cleanName(name).split(' ').filter(Boolean)
  if (parts.length === 0) return '?'
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase()
}

/** lighten mixes a #rrggbb colour with white; amount 0..1 of white. */
export const lighten = (hex, amount) => {
  const n = parseInt(hex.slice(1), 16)
  const mix = (c) => Math.round(c + (255 - c) * amount)
  const r = mix((n >> 16) & 255); const g = mix((n >> 8) & 255); const b = mix(n & 255)
  return '#' + ((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)
}
