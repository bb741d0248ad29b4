package crdt

import (
	"unicode/utf16"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Text is a shared text (Y.Text): UTF-16 positions, formatting attributes and embeds
// (SPEC §2.8, §3.8.4; yjs/yjs: src/types/YText.js).
type Text struct{ b *branch }

// NewText returns a text that is not yet part of a document; insert it into a map or array
// to integrate it. s is its initial content.
func NewText() *Text {
	s := ""
	t := &Text{b: newBranch(typeText, "")}
	t.b.w = t
	if s != "" {
		t.b.prelimTexts = append(t.b.prelimTexts, func(tx *Transaction) { t.Insert(tx, 0, s, nil) })
	}
	return t
}

// Delta is one operation of a text's delta: an insert of a string, an embed or a type,
// with its attributes (nil when none).
type Delta struct {
	Insert     any
	Attributes map[string]any
}

// attrs is an insertion-ordered attribute map (a JS Map, or a JS object via jsOrder).
type attrs struct {
	keys []string
	m    map[string]any
}

func newAttrs() *attrs { return &attrs{} }

func (a *attrs) get(k string) (any, bool) {
	v, ok := a.m[k]
	return v, ok
}

func (a *attrs) set(k string, v any) {
	if a.m == nil {
		a.m = make(map[string]any)
	}
	if _, ok := a.m[k]; !ok {
		a.keys = append(a.keys, k)
	}
	a.m[k] = v
}

func (a *attrs) del(k string) {
	if _, ok := a.m[k]; !ok {
		return
	}
	delete(a.m, k)
	for i, x := range a.keys {
		if x == k {
			a.keys = append(a.keys[:i:i], a.keys[i+1:]...)
			break
		}
	}
}

func (a *attrs) clone() attrs {
	if len(a.keys) == 0 {
		return attrs{}
	}
	c := attrs{keys: append([]string(nil), a.keys...), m: make(map[string]any, len(a.m))}
	for k, v := range a.m {
		c.m[k] = v
	}
	return c
}

// getOrNull is `a.get(k) ?? null`.
func (a *attrs) getOrNull(k string) any {
	v, ok := a.m[k]
	if !ok {
		return nil
	}
	if _, u := v.(lib0.Undefined); u {
		return nil
	}
	return v
}

func updateCurrentAttributes(cur *attrs, f *contentFormat) {
	if f.value == nil {
		cur.del(f.key)
	} else {
		cur.set(f.key, f.value)
	}
}

// textPos is Yjs's ItemTextListPosition.
type textPos struct {
	left, right *item
	index       uint64
	cur         attrs
}

func (p *textPos) forward() {
	if f, ok := p.right.content.(*contentFormat); ok {
		if !p.right.deleted() {
			updateCurrentAttributes(&p.cur, f)
		}
	} else if !p.right.deleted() {
		p.index += p.right.length
	}
	p.left = p.right
	p.right = p.right.right
}

func (b *branch) findPosition(tx *Transaction, index uint64) textPos {
	p := textPos{right: b.start}
	s := tx.doc.store
	count := index
	if q, idx := b.marker(index, true); q != nil {
		p.left, p.right, p.index, count = q.left, q, idx, index-idx
	}
	for p.right != nil && count > 0 {
		r := p.right
		if f, ok := r.content.(*contentFormat); ok {
			if !r.deleted() {
				updateCurrentAttributes(&p.cur, f)
			}
		} else if !r.deleted() {
			if count < r.length {
				s.getItemCleanStart(tx, ID{r.id.Client, r.id.Clock + count})
			}
			p.index += r.length
			count -= min(count, r.length)
		}
		p.left = p.right
		p.right = p.right.right
	}
	return p
}

// newTextItem creates and integrates an item at the cursor.
// n is the content's length.
func (b *branch) newTextItem(tx *Transaction, p *textPos, c content, n uint64) *item {
	d := tx.doc
	var o, ro *ID
	if p.left != nil {
		l := p.left.lastID()
		o = &l
	}
	if p.right != nil {
		r := p.right.id
		ro = &r
	}
	it := newItem(ID{d.clientID, d.store.getState(d.clientID)}, p.left, o, p.right, ro, b, nil, c, n)
	it.integrate(tx, 0)
	return it
}

func minimizeAttributeChanges(p *textPos, a *attrs) {
	for p.right != nil {
		if p.right.deleted() {
			p.forward()
			continue
		}
		if f, ok := p.right.content.(*contentFormat); ok && equalAttrs(a.getOrNull(f.key), f.value) {
			p.forward()
			continue
		}
		break
	}
}

func (b *branch) insertAttributes(tx *Transaction, p *textPos, a *attrs) attrs {
	var negated attrs
	for _, k := range jsOrder(a.keys) {
		val := a.m[k]
		cur := p.cur.getOrNull(k)
		if !equalAttrs(cur, val) {
			negated.set(k, cur)
			p.right = b.newTextItem(tx, p, &contentFormat{key: k, value: val}, 1)
			p.forward()
		}
	}
	return negated
}

func (b *branch) insertNegatedAttributes(tx *Transaction, p *textPos, negated *attrs) {
	for p.right != nil {
		if p.right.deleted() {
			p.forward()
			continue
		}
		if f, ok := p.right.content.(*contentFormat); ok {
			if nv, has := negated.get(f.key); has && equalAttrs(nv, f.value) {
				negated.del(f.key)
				p.forward()
				continue
			}
		}
		break
	}
	for _, k := range negated.keys {
		p.right = b.newTextItem(tx, p, &contentFormat{key: k, value: negated.m[k]}, 1)
		p.forward()
	}
}

func (b *branch) insertText(tx *Transaction, p *textPos, c content, n uint64, a *attrs) {
	for _, k := range p.cur.keys {
		if _, ok := a.get(k); !ok {
			a.set(k, nil)
		}
	}
	minimizeAttributeChanges(p, a)
	negated := b.insertAttributes(tx, p, a)
	p.right = b.newTextItem(tx, p, c, n)
	p.forward()
	b.insertNegatedAttributes(tx, p, &negated)
}

func (b *branch) formatText(tx *Transaction, p *textPos, length uint64, a *attrs) {
	s := tx.doc.store
	minimizeAttributeChanges(p, a)
	negated := b.insertAttributes(tx, p, a)
loop:
	for p.right != nil && (length > 0 || (len(negated.keys) > 0 && (p.right.deleted() || isFormat(p.right)))) {
		r := p.right
		if !r.deleted() {
			if f, ok := r.content.(*contentFormat); ok {
				if av, has := a.get(f.key); has {
					if equalAttrs(av, f.value) {
						negated.del(f.key)
					} else {
						if length == 0 {
							break loop
						}
						negated.set(f.key, f.value)
					}
					r.delete(tx)
				} else {
					p.cur.set(f.key, f.value)
				}
			} else {
				if length < r.length {
					s.getItemCleanStart(tx, ID{r.id.Client, r.id.Clock + length})
				}
				length -= min(length, r.length)
			}
		}
		p.forward()
	}
	if length > 0 {
		nl := make([]byte, length)
		for i := range nl {
			nl[i] = '\n'
		}
		c, n := newContentASCII(nl)
		p.right = b.newTextItem(tx, p, c, n)
		p.forward()
	}
	b.insertNegatedAttributes(tx, p, &negated)
}

func isFormat(it *item) bool {
	_, ok := it.content.(*contentFormat)
	return ok
}

func (b *branch) cleanupFormattingGap(tx *Transaction, start, curr *item, startAttrs, curAttrs *attrs) {
	end := start
	endFormats := map[string]*contentFormat{}
	for end != nil && (!end.countable() || end.deleted()) {
		if f, ok := end.content.(*contentFormat); ok && !end.deleted() {
			endFormats[f.key] = f
		}
		end = end.right
	}
	reachedCurr := false
	for start != end {
		if curr == start {
			reachedCurr = true
		}
		if !start.deleted() {
			if f, ok := start.content.(*contentFormat); ok {
				startVal := startAttrs.getOrNull(f.key)
				if endFormats[f.key] != f || strictEqual(startVal, f.value) {
					start.delete(tx)
					if !reachedCurr && strictEqual(curAttrs.getOrNull(f.key), f.value) && !strictEqual(startVal, f.value) {
						if startVal == nil {
							curAttrs.del(f.key)
						} else {
							curAttrs.set(f.key, startVal)
						}
					}
				}
				if !reachedCurr && !start.deleted() {
					updateCurrentAttributes(curAttrs, f)
				}
			}
		}
		start = start.right
	}
}

func (b *branch) deleteText(tx *Transaction, p *textPos, length uint64) {
	s := tx.doc.store
	startAttrs := p.cur.clone()
	start := p.right
	for length > 0 && p.right != nil {
		r := p.right
		if !r.deleted() {
			switch r.content.(type) {
			case *contentType, *contentEmbed, contentString, contentASCII:
				if length < r.length {
					s.getItemCleanStart(tx, ID{r.id.Client, r.id.Clock + length})
				}
				length -= min(length, r.length)
				r.delete(tx)
			}
		}
		p.forward()
	}
	// Without any format item (there never was one in this type) the cleanup changes nothing;
	// skip its walk over the deleted items that follow.
	if start != nil && b.everFormatted {
		b.cleanupFormattingGap(tx, start, p.right, &startAttrs, &p.cur)
	}
}

// attrsFromMap turns caller attributes into an ordered attribute map (keys in JS order:
// array indices first, then the others sorted).
func attrsFromMap(m map[string]any) *attrs {
	a := newAttrs()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortJSKeys(keys)
	for _, k := range keys {
		a.set(k, normalizeAny(m[k]))
	}
	return a
}

// Insert inserts s at the UTF-16 index. With attributes nil the text takes the formatting
// at the position; otherwise exactly attributes (a nil value removes an attribute). Yjs
// creates format items in JS property order; a Go map has none, so keys are taken with
// array-index keys ascending first and the others sorted (the same for Format and
// InsertEmbed). tx must be the transaction of the enclosing Doc.Transact.
func (t *Text) Insert(tx *Transaction, index int, s string, attributes map[string]any) {
	if s == "" {
		return
	}
	if !t.b.integrated() {
		t.b.prelimTexts = append(t.b.prelimTexts, func(tx *Transaction) { t.Insert(tx, index, s, attributes) })
		return
	}
	p := t.b.findPosition(tx, uint64(max(index, 0)))
	var a attrs
	if attributes == nil {
		a = p.cur.clone()
	} else {
		a = *attrsFromMap(attributes)
	}
	c, n := newTextContent(s)
	t.b.insertText(tx, &p, c, n, &a)
	t.b.setMarker(p.left, p.index)
}

// InsertEmbed inserts an embed (a JSON value) or a new shared type at index, formatted with
// exactly attributes.
func (t *Text) InsertEmbed(tx *Transaction, index int, v any, attributes map[string]any) {
	if !t.b.integrated() {
		t.b.prelimTexts = append(t.b.prelimTexts, func(tx *Transaction) { t.InsertEmbed(tx, index, v, attributes) })
		return
	}
	p := t.b.findPosition(tx, uint64(max(index, 0)))
	var c content
	if nb := branchOf(v); nb != nil {
		c = &contentType{t: nb}
	} else {
		c = &contentEmbed{v: normalizeAny(v)}
	}
	t.b.insertText(tx, &p, c, 1, attrsFromMap(attributes))
	t.b.setMarker(p.left, p.index)
}

// Delete deletes length UTF-16 units from index.
func (t *Text) Delete(tx *Transaction, index, length int) {
	if length <= 0 {
		return
	}
	if !t.b.integrated() {
		t.b.prelimTexts = append(t.b.prelimTexts, func(tx *Transaction) { t.Delete(tx, index, length) })
		return
	}
	p := t.b.findPosition(tx, uint64(max(index, 0)))
	t.b.deleteText(tx, &p, uint64(length))
	t.b.setMarker(p.left, p.index)
}

// Format sets attributes on length units from index (a nil value removes the attribute).
func (t *Text) Format(tx *Transaction, index, length int, attributes map[string]any) {
	if length <= 0 {
		return
	}
	if !t.b.integrated() {
		t.b.prelimTexts = append(t.b.prelimTexts, func(tx *Transaction) { t.Format(tx, index, length, attributes) })
		return
	}
	p := t.b.findPosition(tx, uint64(max(index, 0)))
	if p.right == nil {
		return
	}
	t.b.formatText(tx, &p, uint64(length), attrsFromMap(attributes))
	t.b.setMarker(p.left, p.index)
}

// Len returns the length in UTF-16 code units.
func (t *Text) Len() int { return int(t.b.length) }

// String returns the text without embeds and formatting.
func (t *Text) String() string { return t.b.textString() }

// ToJSON returns the text as a string.
func (t *Text) ToJSON() string { return t.b.textString() }

// Delta returns the text as a delta (SPEC §2.8).
func (t *Text) Delta() []Delta { return t.b.delta() }

func (b *branch) textString() string {
	var u []uint16
	for it := b.start; it != nil; it = it.right {
		if !it.deleted() && it.countable() {
			u = textUnits(u, it.content, it.length)
		}
	}
	return string(utf16.Decode(u))
}

func (b *branch) delta() []Delta {
	var out []Delta
	cur := newAttrs()
	var buf []uint16
	curMap := func() map[string]any {
		if len(cur.keys) == 0 {
			return nil
		}
		m := make(map[string]any, len(cur.keys))
		for _, k := range cur.keys {
			m[k] = cur.m[k]
		}
		return m
	}
	flush := func() {
		if len(buf) > 0 {
			out = append(out, Delta{Insert: lib0.StringFromUTF16(buf), Attributes: curMap()})
			buf = nil
		}
	}
	for it := b.start; it != nil; it = it.right {
		if it.deleted() {
			continue
		}
		switch c := it.content.(type) {
		case contentString, contentASCII:
			buf = textUnits(buf, c, it.length)
		case *contentEmbed:
			flush()
			out = append(out, Delta{Insert: c.v, Attributes: curMap()})
		case *contentType:
			flush()
			out = append(out, Delta{Insert: c.t.wrapper(), Attributes: curMap()})
		case *contentFormat:
			flush()
			updateCurrentAttributes(cur, c)
		}
	}
	flush()
	return out
}
