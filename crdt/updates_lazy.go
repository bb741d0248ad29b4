package crdt

import (
	"fmt"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// The lazy struct model of the update-level functions (SPEC §3.7.1). Structs are read
// straight from an update into their own small representation, without a Doc: a root parent
// stays a name, a nested parent stays an ID, and parentSub is known only for items written
// without origins. Contents keep exactly what a re-write needs; `any`/JSON values are kept as
// lib0 values and re-encoded, which normalises them like Yjs (SPEC §1.2.3, §1.2.4).
// Mirrors yjs/yjs: src/utils/updates.js (LazyStructReader, LazyStructWriter).

// Struct kinds of the lazy model.
const (
	lazyKindGC uint8 = iota
	lazyKindSkip
	lazyKindItem
)

// Info-byte values and content refs used by the lazy reader and writer (SPEC §1.3.1, §2.4).
const (
	lazyInfoOrigin      = 0x80
	lazyInfoRightOrigin = 0x40
	lazyInfoParentSub   = 0x20
	lazyInfoRefMask     = 0x1f
	lazyRefSkip         = 10

	lazyRefDeleted = 1
	lazyRefJSON    = 2
	lazyRefBinary  = 3
	lazyRefString  = 4
	lazyRefEmbed   = 5
	lazyRefFormat  = 6
	lazyRefType    = 7
	lazyRefAny     = 8
	lazyRefDoc     = 9

	lazyTypeRefXmlElement = 3
	lazyTypeRefXmlHook    = 5
)

// lazyStructsPerByteV2 bounds how many structs a v2 update may hold per input byte (plus
// lazyStructsBaseV2). v1 structs need at least two bytes each; v2 run-length columns can
// describe very many structs in a few bytes, so the limit keeps a tiny hostile update from
// costing unbounded time and memory (SPEC §1.5).
const (
	lazyStructsPerByteV2 = 64
	lazyStructsBaseV2    = 1 << 16
)

// lazyStruct is one GC, Skip or Item read lazily from an update.
type lazyStruct struct {
	kind   uint8
	id     ID
	length uint64
	item   *lazyItem // kind == lazyKindItem only
}

func (s *lazyStruct) end() uint64 { return s.id.Clock + s.length }

// lazyItem holds the wire fields of an Item (SPEC §2.3).
type lazyItem struct {
	hasOrigin      bool
	origin         ID
	hasRightOrigin bool
	rightOrigin    ID
	// parent: set only when the item was written without origins.
	hasParent    bool
	parentIsName bool
	parentName   []uint16
	parentID     ID
	hasParentSub bool
	parentSub    []uint16
	content      lazyContent
}

// lazyContent is the payload of an Item, by content ref.
type lazyContent struct {
	ref     uint8
	deleted uint64   // Deleted: length
	values  []any    // JSON (lib0.Undefined for `undefined`) and Any elements
	buf     []byte   // Binary
	text    []uint16 // String, UTF-16 code units
	key     string   // Format key; Type nodeName / hookName
	value   any      // Embed and Format value
	typeRef uint8    // Type
	guid    string   // Doc
	opts    lib0.Object
}

// length is the number of clocks the content covers.
func (c *lazyContent) length() uint64 {
	switch c.ref {
	case lazyRefDeleted:
		return c.deleted
	case lazyRefJSON, lazyRefAny:
		return uint64(len(c.values))
	case lazyRefString:
		return uint64(len(c.text))
	default:
		return 1
	}
}

// splice returns the part of c from offset on (0 < offset < length), without changing c.
// A String cut right after a high surrogate starts with U+FFFD instead of the orphaned low
// surrogate, as Yjs's ContentString.splice does (SPEC §2.4).
func (c *lazyContent) splice(offset uint64) lazyContent {
	right := lazyContent{ref: c.ref}
	switch c.ref {
	case lazyRefDeleted:
		right.deleted = c.deleted - offset
	case lazyRefJSON, lazyRefAny:
		right.values = c.values[offset:]
	case lazyRefString:
		t := make([]uint16, len(c.text)-int(offset))
		copy(t, c.text[offset:])
		if h := c.text[offset-1]; h >= 0xd800 && h <= 0xdbff {
			t[0] = 0xfffd
		}
		right.text = t
	default:
		// Contents of length 1 are never split: 0 < offset < 1 is impossible.
		panic("crdt: splice of a content of length 1")
	}
	return right
}

// write writes the content from offset on (ContentX.write in Yjs).
func (c *lazyContent) write(e updateEncoder, offset uint64) {
	switch c.ref {
	case lazyRefDeleted:
		e.writeLen(c.deleted - offset)
	case lazyRefJSON:
		e.writeLen(uint64(len(c.values)) - offset)
		for _, v := range c.values[offset:] {
			if _, ok := v.(lib0.Undefined); ok {
				e.writeString("undefined")
			} else {
				e.writeString(lib0.StringifyJSON(v))
			}
		}
	case lazyRefBinary:
		e.writeBuf(c.buf)
	case lazyRefString:
		e.writeText(c.text[offset:])
	case lazyRefEmbed:
		e.writeJSON(c.value)
	case lazyRefFormat:
		e.writeKey(c.key)
		e.writeJSON(c.value)
	case lazyRefType:
		e.writeTypeRef(c.typeRef)
		if c.typeRef == lazyTypeRefXmlElement || c.typeRef == lazyTypeRefXmlHook {
			e.writeKey(c.key)
		}
	case lazyRefAny:
		e.writeLen(uint64(len(c.values)) - offset)
		for _, v := range c.values[offset:] {
			e.writeAny(v)
		}
	case lazyRefDoc:
		e.writeString(c.guid)
		e.writeAny(c.opts)
	}
}

// slice returns the part of s from diff on (0 < diff < s.length): sliceStruct in Yjs. An
// Item's part gets origin (client, clock+diff−1) and keeps rightOrigin, parent and parentSub.
func (s *lazyStruct) slice(diff uint64) *lazyStruct {
	r := &lazyStruct{kind: s.kind, id: ID{Client: s.id.Client, Clock: s.id.Clock + diff}, length: s.length - diff}
	if s.kind == lazyKindItem {
		it := *s.item
		it.hasOrigin = true
		it.origin = ID{Client: s.id.Client, Clock: s.id.Clock + diff - 1}
		it.content = s.item.content.splice(diff)
		r.item = &it
	}
	return r
}

// write writes s from offset on (0 ≤ offset < s.length), like Yjs's GC/Skip/Item write. The
// info byte is computed from the fields, so 0x20 is set only when parentSub is known.
func (s *lazyStruct) write(e updateEncoder, offset uint64) {
	switch s.kind {
	case lazyKindGC:
		e.writeInfo(0)
		e.writeLen(s.length - offset)
	case lazyKindSkip:
		e.writeInfo(lazyRefSkip)
		e.restEncoder().WriteVarUint(s.length - offset)
	default:
		it := s.item
		hasOrigin, origin := it.hasOrigin, it.origin
		if offset > 0 {
			hasOrigin, origin = true, ID{Client: s.id.Client, Clock: s.id.Clock + offset - 1}
		}
		info := it.content.ref & lazyInfoRefMask
		if hasOrigin {
			info |= lazyInfoOrigin
		}
		if it.hasRightOrigin {
			info |= lazyInfoRightOrigin
		}
		if it.hasParentSub {
			info |= lazyInfoParentSub
		}
		e.writeInfo(info)
		if hasOrigin {
			e.writeLeftID(origin)
		}
		if it.hasRightOrigin {
			e.writeRightID(it.rightOrigin)
		}
		if !hasOrigin && !it.hasRightOrigin {
			// Invariant: an item read without origins always has a parent.
			if it.parentIsName {
				e.writeParentInfo(true)
				e.writeText(it.parentName)
			} else {
				e.writeParentInfo(false)
				e.writeLeftID(it.parentID)
			}
			if it.hasParentSub {
				e.writeText(it.parentSub)
			}
		}
		it.content.write(e, offset)
	}
}

// lazyUpdate is a fully decoded update: its structs in encoded order and its delete set.
type lazyUpdate struct {
	structs []*lazyStruct
	ds      lazyDeleteSet
	// dupClient is set when a client appears in more than one block.
	dupClient bool
}

// newLazyDecoder returns the update decoder for the format.
func newLazyDecoder(update []byte, v2 bool) (updateDecoder, error) {
	if v2 {
		return newUpdateDecoderV2(update)
	}
	return newUpdateDecoderV1(update), nil
}

// decodeLazyUpdate reads a whole update, structs and delete set, checking it strictly
// (SPEC §1.5). Skip structs are dropped when filterSkips is set.
func decodeLazyUpdate(update []byte, v2, filterSkips bool) (*lazyUpdate, error) {
	d, err := newLazyDecoder(update, v2)
	if err != nil {
		return nil, err
	}
	u := &lazyUpdate{}
	limit := uint64(0)
	if v2 {
		limit = lazyStructsBaseV2 + lazyStructsPerByteV2*uint64(len(update))
	}
	if err := readLazyStructs(d, u, filterSkips, limit); err != nil {
		return nil, err
	}
	ds, err := readLazyDeleteSet(d)
	if err != nil {
		return nil, err
	}
	u.ds = ds
	return u, nil
}

// readLazyStructs reads the struct section (lazyStructReaderGenerator in Yjs). limit, when
// non-zero, caps the number of structs.
func readLazyStructs(d updateDecoder, u *lazyUpdate, filterSkips bool, limit uint64) error {
	rest := d.restDecoder()
	numBlocks, err := rest.ReadVarUint()
	if err != nil {
		return codecError("number of client blocks", err)
	}
	seen := make(map[uint64]struct{})
	var count uint64
	for b := uint64(0); b < numBlocks; b++ {
		numStructs, err := rest.ReadVarUint()
		if err != nil {
			return codecError(fmt.Sprintf("block %d: number of structs", b), err)
		}
		client, err := d.readClient()
		if err != nil {
			return fmt.Errorf("block %d: %w", b, err)
		}
		if _, ok := seen[client]; ok {
			u.dupClient = true
		}
		seen[client] = struct{}{}
		clock, err := rest.ReadVarUint()
		if err != nil {
			return codecError(fmt.Sprintf("block %d: first clock", b), err)
		}
		for i := uint64(0); i < numStructs; i++ {
			count++
			if limit > 0 && count > limit {
				return codecError("too many structs", nil)
			}
			s, err := readLazyStruct(d, ID{Client: client, Clock: clock})
			if err != nil {
				return fmt.Errorf("client %d clock %d: %w", client, clock, err)
			}
			clock += s.length
			if filterSkips && s.kind == lazyKindSkip {
				continue
			}
			u.structs = append(u.structs, s)
		}
	}
	return nil
}

// readLazyStruct reads one struct starting at id.
func readLazyStruct(d updateDecoder, id ID) (*lazyStruct, error) {
	info, err := d.readInfo()
	if err != nil {
		return nil, err
	}
	s := &lazyStruct{id: id}
	switch {
	case info == lazyRefSkip:
		s.kind = lazyKindSkip
		s.length, err = d.restDecoder().ReadVarUint()
		if err != nil {
			return nil, codecError("skip length", err)
		}
	case info&lazyInfoRefMask == 0:
		s.kind = lazyKindGC
		if s.length, err = d.readLen(); err != nil {
			return nil, err
		}
	default:
		s.kind = lazyKindItem
		if s.item, err = readLazyItem(d, info); err != nil {
			return nil, err
		}
		s.length = s.item.content.length()
	}
	if s.length == 0 {
		return nil, codecError("zero-length struct", nil)
	}
	if s.length > maxSafeInt-id.Clock {
		return nil, codecError("struct clock out of range", nil)
	}
	return s, nil
}

// readLazyItem reads an Item's fields after its info byte.
func readLazyItem(d updateDecoder, info byte) (*lazyItem, error) {
	ref := info & lazyInfoRefMask
	if ref > lazyRefDoc {
		return nil, codecError(fmt.Sprintf("content ref %d", ref), nil)
	}
	it := &lazyItem{}
	var err error
	if info&lazyInfoOrigin != 0 {
		it.hasOrigin = true
		if it.origin, err = d.readLeftID(); err != nil {
			return nil, err
		}
	}
	if info&lazyInfoRightOrigin != 0 {
		it.hasRightOrigin = true
		if it.rightOrigin, err = d.readRightID(); err != nil {
			return nil, err
		}
	}
	if info&(lazyInfoOrigin|lazyInfoRightOrigin) == 0 {
		it.hasParent = true
		if it.parentIsName, err = d.readParentInfo(); err != nil {
			return nil, err
		}
		if it.parentIsName {
			if it.parentName, err = d.readText(); err != nil {
				return nil, err
			}
		} else if it.parentID, err = d.readLeftID(); err != nil {
			return nil, err
		}
		if info&lazyInfoParentSub != 0 {
			it.hasParentSub = true
			if it.parentSub, err = d.readText(); err != nil {
				return nil, err
			}
		}
	}
	it.content, err = readLazyContent(d, ref)
	return it, err
}

// readLazyContent reads a content payload by ref (1–9).
func readLazyContent(d updateDecoder, ref uint8) (lazyContent, error) {
	c := lazyContent{ref: ref}
	var err error
	switch ref {
	case lazyRefDeleted:
		c.deleted, err = d.readLen()
	case lazyRefJSON:
		var n uint64
		if n, err = d.readLen(); err != nil {
			return c, err
		}
		for i := uint64(0); i < n; i++ {
			s, err := d.readString()
			if err != nil {
				return c, err
			}
			if s == "undefined" {
				c.values = append(c.values, lib0.Undefined{})
				continue
			}
			v, err := lib0.ParseJSON(s)
			if err != nil {
				return c, codecError("json content", err)
			}
			c.values = append(c.values, v)
		}
	case lazyRefBinary:
		c.buf, err = d.readBuf()
	case lazyRefString:
		c.text, err = d.readText()
	case lazyRefEmbed:
		c.value, err = d.readJSON()
	case lazyRefFormat:
		if c.key, err = d.readKey(); err != nil {
			return c, err
		}
		c.value, err = d.readJSON()
	case lazyRefType:
		if c.typeRef, err = d.readTypeRef(); err != nil {
			return c, err
		}
		if c.typeRef == lazyTypeRefXmlElement || c.typeRef == lazyTypeRefXmlHook {
			c.key, err = d.readKey()
		}
	case lazyRefAny:
		var n uint64
		if n, err = d.readLen(); err != nil {
			return c, err
		}
		for i := uint64(0); i < n; i++ {
			v, err := d.readAny()
			if err != nil {
				return c, err
			}
			c.values = append(c.values, v)
		}
	case lazyRefDoc:
		if c.guid, err = d.readString(); err != nil {
			return c, err
		}
		var opts any
		if opts, err = d.readAny(); err != nil {
			return c, err
		}
		c.guid, c.opts, err = lazyDocOptions(c.guid, opts)
	}
	return c, err
}

// lazyDocOptions rebuilds a subdocument's options the way Yjs's ContentDoc does when it reads
// and writes them again (SPEC §2.4): gc:false if gc is present and falsy, autoLoad:true if
// autoLoad is truthy, meta unless null or undefined, in that order; other keys are dropped.
// Yjs spreads the options over {guid}, so a string "guid" option replaces the guid; any other
// "guid" value makes Yjs write a broken update and is rejected here.
func lazyDocOptions(guid string, v any) (string, lib0.Object, error) {
	o, _ := v.(lib0.Object)
	if g, ok := o.Get("guid"); ok {
		s, isString := g.(string)
		if !isString {
			return "", nil, codecError("subdocument guid option is not a string", nil)
		}
		guid = s
	}
	opts := lib0.Object{}
	if gc, ok := o.Get("gc"); ok && !lazyTruthy(gc) {
		if _, undef := gc.(lib0.Undefined); !undef {
			opts = append(opts, lib0.Field{Key: "gc", Value: false})
		}
	}
	if al, ok := o.Get("autoLoad"); ok && lazyTruthy(al) {
		opts = append(opts, lib0.Field{Key: "autoLoad", Value: true})
	}
	if meta, ok := o.Get("meta"); ok && meta != nil {
		if _, undef := meta.(lib0.Undefined); !undef {
			opts = append(opts, lib0.Field{Key: "meta", Value: meta})
		}
	}
	return guid, opts, nil
}

// lazyTruthy reports whether a lib0 value is truthy in JavaScript.
func lazyTruthy(v any) bool {
	switch x := v.(type) {
	case nil, lib0.Undefined:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case lib0.BigInt:
		return x != 0
	case string:
		return x != ""
	default:
		return true
	}
}

// lazyWriter writes structs lazily: one section per run of structs of one client, the
// section headers assembled at the end (LazyStructWriter in Yjs).
type lazyWriter struct {
	enc        updateEncoder
	currClient uint64
	written    uint64
	parts      []lazyPart
}

type lazyPart struct {
	written uint64
	rest    []byte
}

func (w *lazyWriter) flush() {
	if w.written > 0 {
		rest := w.enc.restEncoder()
		w.parts = append(w.parts, lazyPart{written: w.written, rest: append([]byte(nil), rest.Bytes()...)})
		rest.Reset()
		w.written = 0
	}
}

// write appends s from offset on, starting a new section when the client changes.
func (w *lazyWriter) write(s *lazyStruct, offset uint64) {
	if w.written > 0 && w.currClient != s.id.Client {
		w.flush()
	}
	if w.written == 0 {
		w.currClient = s.id.Client
		w.enc.writeClient(s.id.Client)
		w.enc.restEncoder().WriteVarUint(s.id.Clock + offset)
	}
	s.write(w.enc, offset)
	w.written++
}

// finish writes the struct section; the delete set may follow on the same encoder.
func (w *lazyWriter) finish() {
	w.flush()
	rest := w.enc.restEncoder()
	rest.WriteVarUint(uint64(len(w.parts)))
	for _, p := range w.parts {
		rest.WriteVarUint(p.written)
		rest.WriteRaw(p.rest)
	}
	w.parts = nil
}

// newLazyEncoder returns an update encoder for the format.
func newLazyEncoder(v2 bool) updateEncoder {
	if v2 {
		return newUpdateEncoderV2()
	}
	return newUpdateEncoderV1()
}
