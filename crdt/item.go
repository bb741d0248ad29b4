package crdt

import (
	"math"
	"unsafe"
)

// Structs (SPEC §2.1–2.2, §3.0). Yjs has three struct classes: Item, GC and Skip. Here one Go
// type, item, carries all three, told apart by a flag: a GC or Skip uses only id and length.
// Keeping one type means the struct store is a plain []*item per client and the integration
// code needs no type switches on the hot path (yjs/yjs: src/structs/Item.js, GC.js, Skip.js).

// item flags.
const (
	flagKeep        uint16 = 1 << iota // never garbage-collected (UndoManager)
	flagCountable                      // set from the content kind at construction
	flagDeleted                        // deleted (always set for GC and Skip)
	flagGC                             // this struct is a GC
	flagSkip                           // this struct is a Skip (decoded updates only)
	flagOrigin                         // origin is set
	flagRightOrigin                    // rightOrigin is set
	flagParentSub                      // parentSub is set ("" is a valid key)
)

// parentRef is the parent of a freshly decoded item before getMissing resolves it.
type parentRef struct {
	name   string // root name, when isRoot
	id     ID     // the id of the item holding the parent type, when !isRoot
	isRoot bool
}

// item is a struct of the store: an Item, a GC or a Skip.
//
// Invariant: for an integrated Item, parent is non-nil and left/right link it into the
// parent's list (parentSub unset) or into the chain of one map key (parentSub set).
type item struct {
	id          ID
	length      uint64
	origin      ID // valid when flagOrigin
	rightOrigin ID // valid when flagRightOrigin
	left, right *item
	parent      *branch
	ext         *itemExt // rare fields; nil for most items
	content     content
	flags       uint16
	// scap, for String content, is how many units starting at the content's first one this
	// item owns and may append into when runs merge; at most its length means no spare room.
	scap uint32
}

// itemExt holds the fields most items lack: the decoded parent of an item that getMissing has
// not resolved yet, and the map key. Split halves share it, so it is written only while the
// item is not yet integrated (decoding, getMissing, newItem).
type itemExt struct {
	pref    parentRef
	hasPref bool
	sub     string // valid when flagParentSub
}

// extMut returns the item's ext, allocating it.
func (it *item) extMut() *itemExt {
	if it.ext == nil {
		it.ext = &itemExt{}
	}
	return it.ext
}

// pref returns the decoded parent until getMissing resolves it, or nil.
func (it *item) pref() *parentRef {
	if it.ext != nil && it.ext.hasPref {
		return &it.ext.pref
	}
	return nil
}

func (it *item) setPref(p parentRef) {
	e := it.extMut()
	e.pref, e.hasPref = p, true
}

func (it *item) clearPref() {
	if it.ext != nil && it.ext.hasPref {
		it.ext.pref, it.ext.hasPref = parentRef{}, false
	}
}

// parentSub returns the map key of the item ("" when flagParentSub is unset).
func (it *item) parentSub() string {
	if it.ext != nil {
		return it.ext.sub
	}
	return ""
}

func (it *item) has(f uint16) bool { return it.flags&f != 0 }

func (it *item) set(f uint16, on bool) {
	if on {
		it.flags |= f
	} else {
		it.flags &^= f
	}
}

func (it *item) deleted() bool   { return it.flags&flagDeleted != 0 }
func (it *item) countable() bool { return it.flags&flagCountable != 0 }
func (it *item) isGC() bool      { return it.flags&flagGC != 0 }
func (it *item) isSkip() bool    { return it.flags&flagSkip != 0 }
func (it *item) isItem() bool    { return it.flags&(flagGC|flagSkip) == 0 }
func (it *item) keep() bool      { return it.flags&flagKeep != 0 }

// lastID is the id of the item's last unit.
func (it *item) lastID() ID { return ID{it.id.Client, it.id.Clock + it.length - 1} }

// end is the clock right after the struct.
func (it *item) end() uint64 { return it.id.Clock + it.length }

func (it *item) originPtr() (ID, bool)      { return it.origin, it.has(flagOrigin) }
func (it *item) rightOriginPtr() (ID, bool) { return it.rightOrigin, it.has(flagRightOrigin) }

func (it *item) setOrigin(id ID) {
	it.origin = id
	it.flags |= flagOrigin
}

func (it *item) setRightOrigin(id ID) {
	it.rightOrigin = id
	it.flags |= flagRightOrigin
}

func (it *item) setParentSub(key string, ok bool) {
	it.set(flagParentSub, ok)
	if ok {
		it.extMut().sub = key
	} else if it.ext != nil {
		it.ext.sub = ""
	}
}

func newGC(id ID, length uint64) *item {
	return &item{id: id, length: length, flags: flagGC | flagDeleted}
}

func newSkip(id ID, length uint64) *item {
	return &item{id: id, length: length, flags: flagSkip | flagDeleted}
}

// newItem builds an Item from its content; left and right are the current neighbours.
// n is the content's length (contentLen for the kinds that know it).
func newItem(id ID, left *item, origin *ID, right *item, rightOrigin *ID, parent *branch, parentSub *string, c content, n uint64) *item {
	it := &item{id: id, left: left, right: right, parent: parent, content: c, length: n}
	if origin != nil {
		it.setOrigin(*origin)
	}
	if rightOrigin != nil {
		it.setRightOrigin(*rightOrigin)
	}
	if parentSub != nil {
		it.setParentSub(*parentSub, true)
	}
	if c.countable() {
		it.flags |= flagCountable
	}
	return it
}

// sameOrigin reports whether two optional ids are equal (both absent counts as equal).
func sameOptID(a ID, aok bool, b ID, bok bool) bool {
	if aok != bok {
		return false
	}
	return !aok || a == b
}

// markDeleted sets the deleted flag only.
func (it *item) markDeleted() { it.flags |= flagDeleted }

// splitItem splits it at diff (0 < diff < length) and returns the right part, linked in
// after it (SPEC §3.3; yjs/yjs: src/structs/Item.js splitItem). The caller inserts the right
// part into the struct store.
func splitItem(tx *Transaction, left *item, diff uint64) *item {
	c, k := left.id.Client, left.id.Clock
	r := &item{
		id:          ID{c, k + diff},
		left:        left,
		right:       left.right,
		parent:      left.parent,
		ext:         left.ext,
		rightOrigin: left.rightOrigin,
	}
	left.content, r.content = left.content.splice(left.length, diff)
	left.scap = 0 // the units after diff now belong to r
	r.setOrigin(ID{c, k + diff - 1})
	r.flags |= left.flags & (flagRightOrigin | flagParentSub | flagDeleted | flagKeep)
	if r.content.countable() {
		r.flags |= flagCountable
	}
	r.length = left.length - diff
	left.right = r
	if r.right != nil {
		r.right.left = r
	}
	if tx != nil {
		tx.mergeStructs = append(tx.mergeStructs, r)
	}
	if r.has(flagParentSub) && r.right == nil && r.parent != nil {
		r.parent.mapSet(r.parentSub(), r)
	}
	left.length = diff
	return r
}

// appendUnits appends add to the String content c of it, in place when it owns the room.
func (it *item) appendUnits(c contentString, add []uint16) {
	n := it.length
	need := n + uint64(len(add))
	if uint64(it.scap) >= need {
		copy(unsafe.Slice(c.p, need)[n:], add)
		return
	}
	buf := append(c.units(n)[:n:n], add...)
	it.content = contentString{&buf[0]}
	it.scap = 0
	if uint64(cap(buf)) <= math.MaxUint32 {
		it.scap = uint32(cap(buf))
	}
}

// appendBytes appends add to the ASCII content c of it, in place when it owns the room.
func (it *item) appendBytes(c contentASCII, add []byte) {
	n := it.length
	need := n + uint64(len(add))
	if uint64(it.scap) >= need {
		copy(unsafe.Slice(c.p, need)[n:], add)
		return
	}
	buf := append(c.bytes(n)[:n:n], add...)
	it.content = contentASCII{&buf[0]}
	it.scap = 0
	if uint64(cap(buf)) <= math.MaxUint32 {
		it.scap = uint32(cap(buf))
	}
}

// mergeWith lets it absorb right when Yjs would (SPEC §3.3), and reports whether it did.
func (it *item) mergeWith(right *item) bool {
	if it.isGC() && right.isGC() {
		it.length += right.length
		return true
	}
	if !it.isItem() || !right.isItem() {
		return false
	}
	if !right.has(flagOrigin) || right.origin != it.lastID() || it.right != right {
		return false
	}
	if !sameOptID(it.rightOrigin, it.has(flagRightOrigin), right.rightOrigin, right.has(flagRightOrigin)) {
		return false
	}
	if it.id.Client != right.id.Client || it.id.Clock+it.length != right.id.Clock {
		return false
	}
	if it.deleted() != right.deleted() {
		return false
	}
	switch ls := it.content.(type) {
	case contentString:
		switch rs := right.content.(type) {
		case contentString:
			it.appendUnits(ls, rs.units(right.length))
		case contentASCII:
			it.appendUnits(ls, textUnits(nil, rs, right.length))
		default:
			return false
		}
	case contentASCII:
		switch rs := right.content.(type) {
		case contentASCII:
			it.appendBytes(ls, rs.bytes(right.length))
		case contentString:
			// widen the run: non-ASCII text joins it
			u := textUnits(make([]uint16, 0, it.length+right.length), ls, it.length)
			u = append(u, rs.units(right.length)...)
			it.content = contentString{&u[0]}
			it.scap = 0
			if uint64(cap(u)) <= math.MaxUint32 {
				it.scap = uint32(cap(u))
			}
		default:
			return false
		}
	default:
		if !it.content.mergeWith(right.content) {
			return false
		}
	}
	if right.keep() {
		it.flags |= flagKeep
	}
	it.right = right.right
	if it.right != nil {
		it.right.left = it
	}
	it.length += right.length
	return true
}

// delete marks it deleted and records it in the transaction's delete set (SPEC §3.4.2).
func (it *item) delete(tx *Transaction) {
	if it.deleted() || !it.isItem() {
		return
	}
	p := it.parent
	if p != nil {
		p.version++
		if it.countable() && !it.has(flagParentSub) {
			p.length -= it.length
		}
	}
	it.markDeleted()
	tx.deleteSet.add(it.id.Client, it.id.Clock, it.length)
	it.content.delete(tx)
}

// gc replaces a deleted item's content (SPEC §3.5). With parentGCd the whole item is
// replaced in the store by a GC.
func (it *item) gc(s *structStore, parentGCd bool) {
	it.content.gc(s)
	if parentGCd {
		s.replaceStruct(it, newGC(it.id, it.length))
	} else {
		it.content = contentDeleted{}
		it.scap = 0
	}
}

// getMissing returns the client whose struct this item needs first, or resolves its
// origin, rightOrigin and parent against the store (SPEC §3.1.3; yjs/yjs: src/structs/Item.js
// getMissing). Only Items are passed in.
func (it *item) getMissing(tx *Transaction, s *structStore) (uint64, bool) {
	c := it.id.Client
	if it.has(flagOrigin) && it.origin.Client != c && it.origin.Clock >= s.getState(it.origin.Client) {
		return it.origin.Client, true
	}
	if it.has(flagRightOrigin) && it.rightOrigin.Client != c && it.rightOrigin.Clock >= s.getState(it.rightOrigin.Client) {
		return it.rightOrigin.Client, true
	}
	pref := it.pref()
	if pref != nil && !pref.isRoot && pref.id.Client != c && pref.id.Clock >= s.getState(pref.id.Client) {
		return pref.id.Client, true
	}
	if it.has(flagOrigin) {
		it.left = s.getItemCleanEnd(tx, it.origin)
		it.origin = it.left.lastID()
	}
	if it.has(flagRightOrigin) {
		it.right = s.getItemCleanStart(tx, it.rightOrigin)
		it.rightOrigin = it.right.id
	}
	switch {
	case (it.left != nil && it.left.isGC()) || (it.right != nil && it.right.isGC()):
		it.parent = nil
		it.clearPref()
	case pref == nil && it.parent == nil:
		if it.left != nil && it.left.isItem() {
			it.parent = it.left.parent
			it.setParentSub(it.left.parentSub(), it.left.has(flagParentSub))
		} else if it.right != nil && it.right.isItem() {
			it.parent = it.right.parent
			it.setParentSub(it.right.parentSub(), it.right.has(flagParentSub))
		}
	case pref != nil && pref.isRoot:
		it.parent = tx.doc.getRoot(pref.name)
		it.clearPref()
	case pref != nil:
		it.parent = nil
		p := s.getItem(pref.id)
		if p != nil && p.isItem() {
			if ct, ok := p.content.(*contentType); ok {
				it.parent = ct.t
			}
		}
		it.clearPref()
	}
	return 0, false
}

// integrate places the item into its parent (YATA, SPEC §3.2; yjs/yjs: src/structs/Item.js
// integrate) and appends it to the store. offset > 0 integrates only the part from offset on.
func (it *item) integrate(tx *Transaction, offset uint64) {
	s := tx.doc.store
	if it.isGC() {
		if offset > 0 {
			it.id.Clock += offset
			it.length -= offset
		}
		tx.addStruct(it)
		return
	}
	if offset > 0 {
		it.id.Clock += offset
		it.left = s.getItemCleanEnd(tx, ID{it.id.Client, it.id.Clock - 1})
		it.setOrigin(it.left.lastID())
		_, it.content = it.content.splice(it.length, offset)
		it.scap = 0
		it.length -= offset
	}
	if it.parent == nil {
		tx.addStruct(newGC(it.id, it.length))
		return
	}
	p := it.parent
	p.version++
	if (it.left == nil && (it.right == nil || it.right.left != nil)) || (it.left != nil && it.left.right != it.right) {
		left := it.left
		var o *item
		switch {
		case left != nil:
			o = left.right
		case it.has(flagParentSub):
			o = p.m[it.parentSub()]
			for o != nil && o.left != nil {
				o = o.left
			}
		default:
			o = p.start
		}
		var conflicting, before map[*item]struct{}
		for o != nil && o != it.right {
			if before == nil {
				before = make(map[*item]struct{})
				conflicting = make(map[*item]struct{})
			}
			before[o] = struct{}{}
			conflicting[o] = struct{}{}
			if sameOptID(it.origin, it.has(flagOrigin), o.origin, o.has(flagOrigin)) {
				if o.id.Client < it.id.Client {
					left = o
					clear(conflicting)
				} else if sameOptID(it.rightOrigin, it.has(flagRightOrigin), o.rightOrigin, o.has(flagRightOrigin)) {
					break
				}
			} else if o.has(flagOrigin) {
				oo := s.getItem(o.origin)
				if _, in := before[oo]; in && oo != nil {
					if _, c := conflicting[oo]; !c {
						left = o
						clear(conflicting)
					}
				} else {
					break
				}
			} else {
				break
			}
			o = o.right
		}
		it.left = left
	}
	if it.left != nil {
		it.right = it.left.right
		it.left.right = it
	} else {
		var r *item
		if it.has(flagParentSub) {
			r = p.m[it.parentSub()]
			for r != nil && r.left != nil {
				r = r.left
			}
		} else {
			r = p.start
			p.start = it
		}
		it.right = r
	}
	if it.right != nil {
		it.right.left = it
	} else if it.has(flagParentSub) {
		p.mapSet(it.parentSub(), it)
		if it.left != nil {
			it.left.delete(tx)
		}
	}
	if !it.has(flagParentSub) && it.countable() && !it.deleted() {
		p.length += it.length
	}
	tx.addStruct(it)
	it.content.integrate(tx, it)
	if (p.item != nil && p.item.deleted()) || (it.has(flagParentSub) && it.right != nil) {
		it.delete(tx)
	}
}
