package crdt

import (
	"math"
	"reflect"
	"sort"
	"strconv"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Shared types (SPEC §2.5, §2.8; yjs/yjs: src/types/AbstractType.js). Every type is a branch:
// a list (start) and a key map (m). The exported wrappers (Text, Map, Array, Xml…) choose
// how a branch is read and edited.

// Type refs of ContentType (SPEC §2.5).
const (
	typeArray       uint8 = 0
	typeMap         uint8 = 1
	typeText        uint8 = 2
	typeXmlElement  uint8 = 3
	typeXmlFragment uint8 = 4
	typeXmlHook     uint8 = 5
	typeXmlText     uint8 = 6
	typeUntyped     uint8 = 255 // a root that no one has asked for by type yet (SPEC §3.4.5)
)

type branch struct {
	doc    *Doc
	item   *item // the item holding this type; nil for a root
	start  *item
	m      map[string]*item
	keys   []string // keys of m in first-insertion order (JS Map order)
	length uint64

	typeRef       uint8
	name          string // nodeName (XmlElement) or hookName (XmlHook)
	rootName      string
	hasFormatting bool
	everFormatted bool // a Format item was ever integrated here (disables the position cache)

	// Position cache for local edits (a single search marker): mp is a visible countable item
	// whose first unit is at index mIdx, valid while version == mVer. version changes whenever
	// an item of this type is integrated or deleted; merges move the marker (store.go).
	version uint64
	mp      *item
	mIdx    uint64
	mVer    uint64

	// Prelim content, applied when the type is integrated (Yjs _prelimContent, _pending).
	prelimList  []any
	prelimKeys  []string
	prelimVals  map[string]any
	prelimTexts []func(tx *Transaction)

	lastInserted *item  // scratch of listInsertAfter: the last item it created
	insertedLen  uint64 // scratch of listInsertAfter: units it inserted

	w any // the wrapper, so that one branch has one identity
}

func newBranch(ref uint8, name string) *branch {
	return &branch{typeRef: ref, name: name}
}

// mapSet sets the current item of key, recording the key's first insertion.
func (b *branch) mapSet(key string, it *item) {
	if b.m == nil {
		b.m = make(map[string]*item)
	}
	if _, ok := b.m[key]; !ok {
		b.keys = append(b.keys, key)
	}
	b.m[key] = it
}

// integrated reports whether the type belongs to a document.
func (b *branch) integrated() bool { return b.doc != nil }

// integrateType binds a prelim type to its item and applies its prelim content.
func (b *branch) integrateType(tx *Transaction, it *item) {
	b.doc = tx.doc
	b.item = it
	list, keys, vals, texts := b.prelimList, b.prelimKeys, b.prelimVals, b.prelimTexts
	b.prelimList, b.prelimKeys, b.prelimVals, b.prelimTexts = nil, nil, nil, nil
	switch b.typeRef {
	case typeArray, typeXmlFragment:
		if len(list) > 0 {
			b.listInsert(tx, 0, list)
		}
	case typeXmlElement:
		if len(list) > 0 {
			b.listInsert(tx, 0, list)
		}
		for _, k := range keys {
			b.mapSetValue(tx, k, vals[k])
		}
	case typeMap, typeXmlHook:
		for _, k := range keys {
			b.mapSetValue(tx, k, vals[k])
		}
	case typeText, typeXmlText:
		for _, f := range texts {
			f(tx)
		}
	}
}

// wrapper returns the exported value of the branch.
func (b *branch) wrapper() any {
	if b.w != nil {
		return b.w
	}
	switch b.typeRef {
	case typeArray:
		b.w = &Array{b: b}
	case typeMap:
		b.w = &Map{b: b}
	case typeText:
		b.w = &Text{b: b}
	case typeXmlElement:
		b.w = &XmlElement{b: b}
	case typeXmlFragment:
		b.w = &XmlFragment{b: b}
	case typeXmlHook:
		b.w = &XmlHook{b: b}
	case typeXmlText:
		b.w = &XmlText{Text{b: b}}
	default:
		return nil
	}
	return b.w
}

// branchOf returns the branch of a wrapper value, or nil.
func branchOf(v any) *branch {
	switch x := v.(type) {
	case *Array:
		return x.b
	case *Map:
		return x.b
	case *Text:
		return x.b
	case *XmlElement:
		return x.b
	case *XmlFragment:
		return x.b
	case *XmlHook:
		return x.b
	case *XmlText:
		return x.b
	}
	return nil
}

// toJSON returns the JSON-like value of the branch, as Yjs's toJSON.
func (b *branch) toJSON() any {
	switch b.typeRef {
	case typeArray:
		return b.listToJSON()
	case typeMap, typeXmlHook:
		return b.mapToJSON()
	case typeText:
		return b.textString()
	case typeXmlElement, typeXmlFragment, typeXmlText:
		return b.xmlString()
	}
	return nil
}

// valueJSON converts a stored value for toJSON: nested types become their JSON.
func valueJSON(v any) any {
	if t := branchOf(v); t != nil {
		return t.toJSON()
	}
	return v
}

// --- list ---

func (b *branch) listToJSON() []any {
	out := []any{}
	for it := b.start; it != nil; it = it.right {
		if it.countable() && !it.deleted() {
			for _, v := range it.content.values(it.length) {
				out = append(out, valueJSON(v))
			}
		}
	}
	return out
}

func (b *branch) listValues() []any {
	var out []any
	for it := b.start; it != nil; it = it.right {
		if it.countable() && !it.deleted() {
			out = append(out, it.content.values(it.length)...)
		}
	}
	return out
}

func (b *branch) listGet(i int) (any, bool) {
	if i < 0 {
		return nil, false
	}
	idx := uint64(i)
	for it := b.start; it != nil; it = it.right {
		if it.countable() && !it.deleted() {
			if idx < it.length {
				return it.content.values(it.length)[idx], true
			}
			idx -= it.length
		}
	}
	return nil, false
}

// marker returns a visible countable item whose first unit is at an index below index (or
// at most index when orEqual), and that index; or (nil, 0) to walk from the start. It never
// changes a result: local edits find the same position from it as from the start.
func (b *branch) marker(index uint64, orEqual bool) (*item, uint64) {
	if b.everFormatted || b.mp == nil || b.mVer != b.version {
		return nil, 0
	}
	q, idx := b.mp, b.mIdx
	for q != nil && (idx > index || (idx == index && !orEqual)) {
		q = q.left
		for q != nil && (q.deleted() || !q.countable()) {
			q = q.left
		}
		if q == nil {
			return nil, 0
		}
		idx -= q.length
	}
	return q, idx
}

// setMarker remembers the position after a local edit: the cursor is at visible index
// index, right after left.
func (b *branch) setMarker(left *item, index uint64) {
	b.mp = nil
	if b.everFormatted {
		return
	}
	q := left
	for q != nil && (q.deleted() || !q.countable()) {
		q = q.left
	}
	if q == nil || q.length > index {
		return
	}
	b.mp, b.mIdx, b.mVer = q, index-q.length, b.version
}

// listInsert inserts values at index (SPEC §3.8.2; typeListInsertGenerics).
func (b *branch) listInsert(tx *Transaction, index uint64, values []any) {
	if index > b.length {
		panic("crdt: array insert beyond length")
	}
	if index == 0 {
		b.listInsertAfter(tx, nil, values)
		return
	}
	n := b.start
	orig := index
	if q, idx := b.marker(index, false); q != nil {
		n, index = q, index-idx
	}
	defer func() { b.setMarker(b.lastInserted, orig+b.insertedLen) }()
	for ; n != nil; n = n.right {
		if !n.deleted() && n.countable() {
			if index <= n.length {
				if index < n.length {
					tx.doc.store.getItemCleanStart(tx, ID{n.id.Client, n.id.Clock + index})
				}
				break
			}
			index -= n.length
		}
	}
	b.listInsertAfter(tx, n, values)
}

// listPush appends values after the last item, deleted or not.
func (b *branch) listPush(tx *Transaction, values []any) {
	n := b.start
	if n != nil {
		for n.right != nil {
			n = n.right
		}
	}
	b.listInsertAfter(tx, n, values)
}

func (b *branch) listInsertAfter(tx *Transaction, ref *item, values []any) {
	d := tx.doc
	left := ref
	var right *item
	if ref == nil {
		right = b.start
	} else {
		right = ref.right
	}
	var run []any
	b.lastInserted, b.insertedLen = ref, 0
	place := func(c content) {
		var o, ro *ID
		if left != nil {
			l := left.lastID()
			o = &l
		}
		if right != nil {
			r := right.id
			ro = &r
		}
		it := newItem(ID{d.clientID, d.store.getState(d.clientID)}, left, o, right, ro, b, nil, c, contentLen(c))
		it.integrate(tx, 0)
		left = it
		b.lastInserted = it
		b.insertedLen += it.length
	}
	pack := func() {
		if len(run) > 0 {
			place(&contentAny{vals: run})
			run = nil
		}
	}
	for _, v := range values {
		c := valueContent(v)
		if ca, ok := c.(*contentAny); ok {
			run = append(run, ca.vals...)
			continue
		}
		pack()
		place(c)
	}
	pack()
}

// listDelete deletes length visible units from index (typeListDelete).
func (b *branch) listDelete(tx *Transaction, index, length uint64) {
	if length == 0 {
		return
	}
	s := tx.doc.store
	n := b.start
	orig := index
	if q, idx := b.marker(index, true); q != nil {
		n, index = q, index-idx
	}
	for ; n != nil && index > 0; n = n.right {
		if !n.deleted() && n.countable() {
			if index < n.length {
				s.getItemCleanStart(tx, ID{n.id.Client, n.id.Clock + index})
			}
			index -= min(index, n.length)
		}
	}
	var last *item
	for length > 0 && n != nil {
		if !n.deleted() {
			if length < n.length {
				s.getItemCleanStart(tx, ID{n.id.Client, n.id.Clock + length})
			}
			n.delete(tx)
			length -= min(length, n.length)
		}
		last = n
		n = n.right
	}
	if last != nil {
		b.setMarker(last, orig)
	}
}

// valueContent turns an application value into the content Yjs would create for it.
func valueContent(v any) content {
	switch x := v.(type) {
	case []byte:
		return &contentBinary{b: append([]byte{}, x...)}
	case *SubDoc:
		return &contentDoc{d: x}
	}
	if t := branchOf(v); t != nil {
		if t.integrated() {
			panic("crdt: a shared type can be inserted only once")
		}
		return &contentType{t: t}
	}
	return &contentAny{vals: []any{normalizeAny(v)}}
}

// normalizeAny converts Go values to the lib0 value model (numbers as float64, objects as
// lib0.Object in JS key order).
func normalizeAny(v any) any {
	switch x := v.(type) {
	case nil, bool, float64, string, lib0.Undefined, lib0.BigInt, []byte:
		return x
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeAny(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case lib0.Object:
		out := make(lib0.Object, len(x))
		for i, f := range x {
			out[i] = lib0.Field{Key: f.Key, Value: normalizeAny(f.Value)}
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortJSKeys(keys)
		out := make(lib0.Object, len(keys))
		for i, k := range keys {
			out[i] = lib0.Field{Key: k, Value: normalizeAny(x[k])}
		}
		return out
	}
	return v
}

// isArrayIndex reports whether k is a canonical array index ("0", "7", not "01" or "-1").
func isArrayIndex(k string) bool {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return false
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return err == nil && n < math.MaxUint32
}

// sortJSKeys orders keys with array indices first ascending, the rest sorted.
func sortJSKeys(keys []string) {
	sort.SliceStable(keys, func(i, j int) bool {
		ai, aj := isArrayIndex(keys[i]), isArrayIndex(keys[j])
		switch {
		case ai && aj:
			a, _ := strconv.ParseUint(keys[i], 10, 64)
			b, _ := strconv.ParseUint(keys[j], 10, 64)
			return a < b
		case ai != aj:
			return ai
		}
		return keys[i] < keys[j]
	})
}

// jsOrder returns keys (in insertion order) in JS property order: array indices ascending
// first, then the others in insertion order.
func jsOrder(keys []string) []string {
	if len(keys) == 0 {
		return nil
	}
	out := make([]string, 0, len(keys))
	var idx []string
	for _, k := range keys {
		if isArrayIndex(k) {
			idx = append(idx, k)
		}
	}
	sort.Slice(idx, func(i, j int) bool {
		a, _ := strconv.ParseUint(idx[i], 10, 64)
		b, _ := strconv.ParseUint(idx[j], 10, 64)
		return a < b
	})
	out = append(out, idx...)
	for _, k := range keys {
		if !isArrayIndex(k) {
			out = append(out, k)
		}
	}
	return out
}

// --- map ---

func (b *branch) mapGet(key string) (any, bool) {
	it := b.m[key]
	if it == nil || it.deleted() {
		return nil, false
	}
	vs := it.content.values(it.length)
	if len(vs) == 0 {
		return nil, false
	}
	return vs[len(vs)-1], true
}

// mapKeys returns the live keys in JS order.
func (b *branch) mapKeys() []string {
	var ks []string
	for _, k := range b.keys {
		if it := b.m[k]; it != nil && !it.deleted() {
			ks = append(ks, k)
		}
	}
	return jsOrder(ks)
}

func (b *branch) mapToJSON() map[string]any {
	out := map[string]any{}
	for _, k := range b.keys {
		if v, ok := b.mapGet(k); ok {
			out[k] = valueJSON(v)
		}
	}
	return out
}

// mapSetValue sets key to value (typeMapSet).
func (b *branch) mapSetValue(tx *Transaction, key string, value any) {
	d := tx.doc
	left := b.m[key]
	var o *ID
	if left != nil {
		l := left.lastID()
		o = &l
	}
	k := key
	c := valueContent(value)
	it := newItem(ID{d.clientID, d.store.getState(d.clientID)}, left, o, nil, nil, b, &k, c, contentLen(c))
	it.integrate(tx, 0)
}

func (b *branch) mapDelete(tx *Transaction, key string) {
	if it := b.m[key]; it != nil {
		it.delete(tx)
	}
}

// strictEqual is JavaScript ===: values compare by value, objects and arrays by identity.
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case lib0.Undefined:
		_, ok := b.(lib0.Undefined)
		return ok
	case bool, string, lib0.BigInt:
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	}
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() != rb.Kind() {
		return false
	}
	switch ra.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer:
		return ra.Pointer() == rb.Pointer() && (ra.Kind() != reflect.Slice || ra.Len() == rb.Len())
	}
	return false
}

// equalAttrs is Yjs's attribute equality: ===, or a flat comparison of two objects.
func equalAttrs(a, b any) bool {
	if strictEqual(a, b) {
		return true
	}
	oa, aok := a.(lib0.Object)
	ob, bok := b.(lib0.Object)
	if aok && bok {
		if len(oa) != len(ob) {
			return false
		}
		for _, f := range oa {
			v, ok := ob.Get(f.Key)
			if !ok || !strictEqual(v, f.Value) {
				return false
			}
		}
		return true
	}
	la, aok := a.([]any)
	lb, bok := b.([]any)
	if aok && bok {
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !strictEqual(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return false
}
