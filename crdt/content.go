package crdt

import (
	"unsafe"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Item contents, refs 1–9 (SPEC §2.4, §3.0; yjs/yjs: src/structs/Content*.js).

const (
	refGC      = 0
	refDeleted = 1
	refJSON    = 2
	refBinary  = 3
	refString  = 4
	refEmbed   = 5
	refFormat  = 6
	refType    = 7
	refAny     = 8
	refDoc     = 9
	refSkip    = 10
)

// content is the payload of an Item. Its length (in clocks) is the item's length, which the
// methods that need it receive as n: the two most common kinds, String and Deleted, store no
// length of their own, so that they fit in the interface without a separate allocation.
type content interface {
	ref() uint8
	countable() bool
	// splice cuts the content of n units at offset (0 < offset < n) and returns both parts;
	// the left part may be the receiver, changed.
	splice(n, offset uint64) (left, right content)
	// mergeWith appends right when both are of the same mergeable kind (not String: see
	// item.mergeWith).
	mergeWith(right content) bool
	write(e updateEncoder, n, offset uint64)
	integrate(tx *Transaction, it *item)
	delete(tx *Transaction)
	gc(s *structStore)
	// values returns the content as the values a list or map exposes.
	values(n uint64) []any
}

// contentLen returns the length of a content that knows it: every kind but String and Deleted.
func contentLen(c content) uint64 {
	switch x := c.(type) {
	case *contentJSON:
		return uint64(len(x.vals))
	case *contentAny:
		return uint64(len(x.vals))
	case contentString, contentASCII, contentDeleted:
		panic("crdt: the length of string or deleted content is the item's")
	}
	return 1
}

// contentDeleted is the content of deleted (or garbage-collected) Items. It has no fields:
// its length is the item's.
type contentDeleted struct{}

func (contentDeleted) ref() uint8      { return refDeleted }
func (contentDeleted) countable() bool { return false }
func (c contentDeleted) splice(uint64, uint64) (content, content) {
	return c, c
}
func (contentDeleted) mergeWith(right content) bool {
	_, ok := right.(contentDeleted)
	return ok
}
func (contentDeleted) write(e updateEncoder, n, off uint64) { e.writeLen(n - off) }
func (contentDeleted) integrate(tx *Transaction, it *item) {
	tx.deleteSet.add(it.id.Client, it.id.Clock, it.length)
	it.markDeleted()
}
func (contentDeleted) delete(*Transaction) {}
func (contentDeleted) gc(*structStore)     {}
func (contentDeleted) values(uint64) []any { return nil }

// contentJSON is legacy JSON content: values stored as JSON texts.
type contentJSON struct{ vals []any }

func (c *contentJSON) ref() uint8      { return refJSON }
func (c *contentJSON) countable() bool { return true }
func (c *contentJSON) splice(_, off uint64) (content, content) {
	r := &contentJSON{vals: c.vals[off:]}
	c.vals = c.vals[:off:off]
	return c, r
}
func (c *contentJSON) mergeWith(right content) bool {
	r, ok := right.(*contentJSON)
	if ok {
		c.vals = append(c.vals, r.vals...)
	}
	return ok
}
func (c *contentJSON) write(e updateEncoder, _, off uint64) {
	e.writeLen(uint64(len(c.vals)) - off)
	for _, v := range c.vals[off:] {
		if _, u := v.(lib0.Undefined); u {
			e.writeString("undefined")
		} else {
			e.writeString(lib0.StringifyJSON(v))
		}
	}
}
func (c *contentJSON) integrate(*Transaction, *item) {}
func (c *contentJSON) delete(*Transaction)           {}
func (c *contentJSON) gc(*structStore)               {}
func (c *contentJSON) values(uint64) []any           { return c.vals }

// contentBinary is a Uint8Array.
type contentBinary struct{ b []byte }

func (c *contentBinary) ref() uint8      { return refBinary }
func (c *contentBinary) countable() bool { return true }
func (c *contentBinary) splice(_, _ uint64) (content, content) {
	panic("crdt: splice of binary content")
}
func (c *contentBinary) mergeWith(content) bool             { return false }
func (c *contentBinary) write(e updateEncoder, _, _ uint64) { e.writeBuf(c.b) }
func (c *contentBinary) integrate(*Transaction, *item)      {}
func (c *contentBinary) delete(*Transaction)                {}
func (c *contentBinary) gc(*structStore)                    {}
func (c *contentBinary) values(uint64) []any                { return []any{c.b} }

// contentString is text, kept as UTF-16 code units: p points at the first of the item's
// length units. Being a single pointer, it is stored in the content interface without an
// allocation of its own. The units belong to one item; split halves own disjoint ranges.
// Spare room after them, for appending when runs merge, is recorded in item.scap.
type contentString struct{ p *uint16 }

// newContentString returns the content holding u (not empty), and its length.
func newContentString(u []uint16) (contentString, uint64) {
	return contentString{&u[0]}, uint64(len(u))
}

// units returns the n code units of c.
func (c contentString) units(n uint64) []uint16 {
	if n == 0 || c.p == nil {
		return nil
	}
	return unsafe.Slice(c.p, n)
}

func (contentString) ref() uint8      { return refString }
func (contentString) countable() bool { return true }

// splice follows the surrogate rule of SPEC §3.3: a split between the halves of a pair
// turns both sides into U+FFFD (on copies, so that no unit is changed in place).
func (c contentString) splice(n, off uint64) (content, content) {
	u := c.units(n)
	if x := u[off-1]; x >= 0xD800 && x <= 0xDBFF {
		l := make([]uint16, off)
		copy(l, u[:off])
		l[off-1] = 0xFFFD
		r := make([]uint16, n-off)
		copy(r, u[off:])
		r[0] = 0xFFFD
		return contentString{&l[0]}, contentString{&r[0]}
	}
	return c, contentString{&u[off]}
}
func (contentString) mergeWith(content) bool { return false } // item.mergeWith joins strings
func (c contentString) write(e updateEncoder, n, off uint64) {
	e.writeText(c.units(n)[off:])
}
func (contentString) integrate(*Transaction, *item) {}
func (contentString) delete(*Transaction)           {}
func (contentString) gc(*structStore)               {}
func (c contentString) values(n uint64) []any {
	out := make([]any, n)
	for i, u := range c.units(n) {
		out[i] = lib0.StringFromUTF16([]uint16{u})
	}
	return out
}

// contentASCII is String content whose code units are all below 0x80, kept one byte per unit
// (half the memory of UTF-16). It behaves exactly like contentString; merging it with
// non-ASCII text widens the run to a contentString. Like contentString it is a single pointer.
type contentASCII struct{ p *byte }

// newContentASCII returns the content holding b (not empty, all bytes below 0x80).
func newContentASCII(b []byte) (contentASCII, uint64) {
	return contentASCII{&b[0]}, uint64(len(b))
}

// bytes returns the n units of c.
func (c contentASCII) bytes(n uint64) []byte {
	if n == 0 || c.p == nil {
		return nil
	}
	return unsafe.Slice(c.p, n)
}

func (contentASCII) ref() uint8      { return refString }
func (contentASCII) countable() bool { return true }
func (c contentASCII) splice(n, off uint64) (content, content) {
	return c, contentASCII{&c.bytes(n)[off]}
}
func (contentASCII) mergeWith(content) bool { return false } // item.mergeWith joins strings
func (c contentASCII) write(e updateEncoder, n, off uint64) {
	e.writeASCII(c.bytes(n)[off:])
}
func (contentASCII) integrate(*Transaction, *item) {}
func (contentASCII) delete(*Transaction)           {}
func (contentASCII) gc(*structStore)               {}
func (c contentASCII) values(n uint64) []any {
	out := make([]any, n)
	for i, b := range c.bytes(n) {
		out[i] = string(rune(b))
	}
	return out
}

// isASCII reports whether every byte of b is below 0x80.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// newTextContent returns String content for s (not empty): bytes when s is ASCII.
func newTextContent(s string) (content, uint64) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return newContentString(lib0.UTF16(s))
		}
	}
	return newContentASCII([]byte(s))
}

// newTextContentUnits returns String content for u (not empty): narrowed to bytes when every
// unit is ASCII, else u itself.
func newTextContentUnits(u []uint16) (content, uint64) {
	for _, x := range u {
		if x >= 0x80 {
			return newContentString(u)
		}
	}
	b := make([]byte, len(u))
	for i, x := range u {
		b[i] = byte(x)
	}
	return newContentASCII(b)
}

// textUnits appends the code units of String content c (n units) to u.
func textUnits(u []uint16, c content, n uint64) []uint16 {
	switch x := c.(type) {
	case contentString:
		return append(u, x.units(n)...)
	case contentASCII:
		for _, b := range x.bytes(n) {
			u = append(u, uint16(b))
		}
	}
	return u
}

// contentEmbed is an embedded JSON value in a text.
type contentEmbed struct{ v any }

func (c *contentEmbed) ref() uint8                            { return refEmbed }
func (c *contentEmbed) countable() bool                       { return true }
func (c *contentEmbed) splice(_, _ uint64) (content, content) { panic("crdt: splice of embed content") }
func (c *contentEmbed) mergeWith(content) bool                { return false }
func (c *contentEmbed) write(e updateEncoder, _, _ uint64)    { e.writeJSON(c.v) }
func (c *contentEmbed) integrate(*Transaction, *item)         {}
func (c *contentEmbed) delete(*Transaction)                   {}
func (c *contentEmbed) gc(*structStore)                       {}
func (c *contentEmbed) values(uint64) []any                   { return []any{c.v} }

// contentFormat is a formatting marker in a text (not countable).
type contentFormat struct {
	key   string
	value any
}

func (c *contentFormat) ref() uint8      { return refFormat }
func (c *contentFormat) countable() bool { return false }
func (c *contentFormat) splice(_, _ uint64) (content, content) {
	panic("crdt: splice of format content")
}
func (c *contentFormat) mergeWith(content) bool             { return false }
func (c *contentFormat) write(e updateEncoder, _, _ uint64) { e.writeKey(c.key); e.writeJSON(c.value) }
func (c *contentFormat) integrate(_ *Transaction, it *item) {
	if it.parent != nil {
		it.parent.hasFormatting = true
		it.parent.everFormatted = true
	}
}
func (c *contentFormat) delete(*Transaction) {}
func (c *contentFormat) gc(*structStore)     {}
func (c *contentFormat) values(uint64) []any { return nil }

// contentType holds a nested shared type.
type contentType struct{ t *branch }

func (c *contentType) ref() uint8                            { return refType }
func (c *contentType) countable() bool                       { return true }
func (c *contentType) splice(_, _ uint64) (content, content) { panic("crdt: splice of type content") }
func (c *contentType) mergeWith(content) bool {
	return false
}
func (c *contentType) write(e updateEncoder, _, _ uint64) {
	e.writeTypeRef(c.t.typeRef)
	if c.t.typeRef == typeXmlElement || c.t.typeRef == typeXmlHook {
		e.writeKey(c.t.name)
	}
}
func (c *contentType) integrate(tx *Transaction, it *item) { c.t.integrateType(tx, it) }
func (c *contentType) delete(tx *Transaction) {
	t := c.t
	for it := t.start; it != nil; it = it.right {
		if !it.deleted() {
			it.delete(tx)
		} else if it.id.Clock < tx.beforeClock(it.id.Client) {
			tx.mergeStructs = append(tx.mergeStructs, it)
		}
	}
	for _, k := range t.keys {
		it := t.m[k]
		if !it.deleted() {
			it.delete(tx)
		} else if it.id.Clock < tx.beforeClock(it.id.Client) {
			tx.mergeStructs = append(tx.mergeStructs, it)
		}
	}
}
func (c *contentType) gc(s *structStore) {
	t := c.t
	for it := t.start; it != nil; it = it.right {
		it.gc(s, true)
	}
	t.start = nil
	for _, k := range t.keys {
		for it := t.m[k]; it != nil; it = it.left {
			it.gc(s, true)
		}
	}
	t.m = nil
	t.keys = nil
}
func (c *contentType) values(uint64) []any { return []any{c.t.wrapper()} }

// contentAny holds lib0 `any` values.
type contentAny struct{ vals []any }

func (c *contentAny) ref() uint8      { return refAny }
func (c *contentAny) countable() bool { return true }
func (c *contentAny) splice(_, off uint64) (content, content) {
	r := &contentAny{vals: c.vals[off:]}
	c.vals = c.vals[:off:off]
	return c, r
}
func (c *contentAny) mergeWith(right content) bool {
	r, ok := right.(*contentAny)
	if ok {
		c.vals = append(c.vals, r.vals...)
	}
	return ok
}
func (c *contentAny) write(e updateEncoder, _, off uint64) {
	e.writeLen(uint64(len(c.vals)) - off)
	for _, v := range c.vals[off:] {
		e.writeAny(v)
	}
}
func (c *contentAny) integrate(*Transaction, *item) {}
func (c *contentAny) delete(*Transaction)           {}
func (c *contentAny) gc(*structStore)               {}
func (c *contentAny) values(uint64) []any           { return c.vals }

// SubDoc is a subdocument (ContentDoc) as it appears in a map or array: its guid and the
// options Yjs re-encodes for it (gc, autoLoad, meta; SPEC §2.4).
type SubDoc struct {
	GUID string
	Opts lib0.Object
}

// contentDoc holds a subdocument reference.
type contentDoc struct{ d *SubDoc }

func (c *contentDoc) ref() uint8                            { return refDoc }
func (c *contentDoc) countable() bool                       { return true }
func (c *contentDoc) splice(_, _ uint64) (content, content) { panic("crdt: splice of doc content") }
func (c *contentDoc) mergeWith(content) bool                { return false }
func (c *contentDoc) write(e updateEncoder, _, _ uint64) {
	e.writeString(c.d.GUID)
	e.writeAny(c.d.Opts)
}
func (c *contentDoc) integrate(*Transaction, *item) {}
func (c *contentDoc) delete(*Transaction)           {}
func (c *contentDoc) gc(*structStore)               {}
func (c *contentDoc) values(uint64) []any           { return []any{c.d} }

// jsTruthy reports JavaScript truthiness of a lib0 value.
func jsTruthy(v any) bool {
	switch x := v.(type) {
	case nil, lib0.Undefined:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case string:
		return x != ""
	case lib0.BigInt:
		return x != 0
	}
	return true
}

// newSubDoc rebuilds the options Yjs keeps for a decoded subdocument (SPEC §2.4 "Doc").
func newSubDoc(guid string, opts any) *SubDoc {
	sd := &SubDoc{GUID: guid, Opts: lib0.Object{}}
	o, _ := opts.(lib0.Object)
	if g, ok := o.Get("gc"); ok {
		if _, u := g.(lib0.Undefined); !u && !jsTruthy(g) {
			sd.Opts = append(sd.Opts, lib0.Field{Key: "gc", Value: false})
		}
	}
	if a, ok := o.Get("autoLoad"); ok && jsTruthy(a) {
		sd.Opts = append(sd.Opts, lib0.Field{Key: "autoLoad", Value: true})
	}
	if m, ok := o.Get("meta"); ok {
		if _, u := m.(lib0.Undefined); !u && m != nil {
			sd.Opts = append(sd.Opts, lib0.Field{Key: "meta", Value: m})
		}
	}
	return sd
}

// readItemContent reads the content of an item with the given info byte.
func readItemContent(d updateDecoder, info byte) (content, uint64, error) {
	switch info & 0x1f {
	case refDeleted:
		n, err := d.readLen()
		if err != nil {
			return nil, 0, err
		}
		return contentDeleted{}, n, nil
	case refJSON:
		n, err := d.readLen()
		if err != nil {
			return nil, 0, err
		}
		var vals []any
		for i := uint64(0); i < n; i++ {
			s, err := d.readString()
			if err != nil {
				return nil, 0, err
			}
			if s == "undefined" {
				vals = append(vals, lib0.Undefined{})
				continue
			}
			v, err := lib0.ParseJSON(s)
			if err != nil {
				return nil, 0, codecError("json content", err)
			}
			vals = append(vals, v)
		}
		return &contentJSON{vals: vals}, n, nil
	case refBinary:
		b, err := d.readBuf()
		if err != nil {
			return nil, 0, err
		}
		return &contentBinary{b: b}, 1, nil
	case refString:
		return d.readTextContent()
	case refEmbed:
		v, err := d.readJSON()
		if err != nil {
			return nil, 0, err
		}
		return &contentEmbed{v: v}, 1, nil
	case refFormat:
		k, err := d.readKey()
		if err != nil {
			return nil, 0, err
		}
		v, err := d.readJSON()
		if err != nil {
			return nil, 0, err
		}
		return &contentFormat{key: k, value: v}, 1, nil
	case refType:
		ref, err := d.readTypeRef()
		if err != nil {
			return nil, 0, err
		}
		if ref > typeXmlText {
			return nil, 0, codecError("type ref", nil)
		}
		name := ""
		if ref == typeXmlElement || ref == typeXmlHook {
			if name, err = d.readKey(); err != nil {
				return nil, 0, err
			}
		}
		return &contentType{t: newBranch(ref, name)}, 1, nil
	case refAny:
		n, err := d.readLen()
		if err != nil {
			return nil, 0, err
		}
		var vals []any
		for i := uint64(0); i < n; i++ {
			v, err := d.readAny()
			if err != nil {
				return nil, 0, err
			}
			vals = append(vals, v)
		}
		return &contentAny{vals: vals}, n, nil
	case refDoc:
		g, err := d.readString()
		if err != nil {
			return nil, 0, err
		}
		o, err := d.readAny()
		if err != nil {
			return nil, 0, err
		}
		return &contentDoc{d: newSubDoc(g, o)}, 1, nil
	}
	return nil, 0, codecError("content ref", nil)
}
