package crdt

import (
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

// content is the payload of an Item.
type content interface {
	ref() uint8
	length() uint64
	countable() bool
	// splice cuts the content at offset, keeps the left part and returns the right part.
	splice(offset uint64) content
	// mergeWith appends right when both are of the same mergeable kind.
	mergeWith(right content) bool
	write(e updateEncoder, offset uint64)
	integrate(tx *Transaction, it *item)
	delete(tx *Transaction)
	gc(s *structStore)
	// values returns the content as the values a list or map exposes.
	values() []any
}

// contentDeleted is the content of deleted (or garbage-collected) Items.
type contentDeleted struct{ n uint64 }

func (c *contentDeleted) ref() uint8      { return refDeleted }
func (c *contentDeleted) length() uint64  { return c.n }
func (c *contentDeleted) countable() bool { return false }
func (c *contentDeleted) splice(off uint64) content {
	r := &contentDeleted{n: c.n - off}
	c.n = off
	return r
}
func (c *contentDeleted) mergeWith(right content) bool {
	r, ok := right.(*contentDeleted)
	if ok {
		c.n += r.n
	}
	return ok
}
func (c *contentDeleted) write(e updateEncoder, off uint64) { e.writeLen(c.n - off) }
func (c *contentDeleted) integrate(tx *Transaction, it *item) {
	tx.deleteSet.add(it.id.Client, it.id.Clock, c.n)
	it.markDeleted()
}
func (c *contentDeleted) delete(*Transaction) {}
func (c *contentDeleted) gc(*structStore)     {}
func (c *contentDeleted) values() []any       { return nil }

// contentJSON is legacy JSON content: values stored as JSON texts.
type contentJSON struct{ vals []any }

func (c *contentJSON) ref() uint8      { return refJSON }
func (c *contentJSON) length() uint64  { return uint64(len(c.vals)) }
func (c *contentJSON) countable() bool { return true }
func (c *contentJSON) splice(off uint64) content {
	r := &contentJSON{vals: c.vals[off:]}
	c.vals = c.vals[:off:off]
	return r
}
func (c *contentJSON) mergeWith(right content) bool {
	r, ok := right.(*contentJSON)
	if ok {
		c.vals = append(c.vals, r.vals...)
	}
	return ok
}
func (c *contentJSON) write(e updateEncoder, off uint64) {
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
func (c *contentJSON) values() []any                 { return c.vals }

// contentBinary is a Uint8Array.
type contentBinary struct{ b []byte }

func (c *contentBinary) ref() uint8                      { return refBinary }
func (c *contentBinary) length() uint64                  { return 1 }
func (c *contentBinary) countable() bool                 { return true }
func (c *contentBinary) splice(uint64) content           { panic("crdt: splice of binary content") }
func (c *contentBinary) mergeWith(content) bool          { return false }
func (c *contentBinary) write(e updateEncoder, _ uint64) { e.writeBuf(c.b) }
func (c *contentBinary) integrate(*Transaction, *item)   {}
func (c *contentBinary) delete(*Transaction)             {}
func (c *contentBinary) gc(*structStore)                 {}
func (c *contentBinary) values() []any                   { return []any{c.b} }

// contentString is text, kept as UTF-16 code units.
type contentString struct{ s []uint16 }

func (c *contentString) ref() uint8      { return refString }
func (c *contentString) length() uint64  { return uint64(len(c.s)) }
func (c *contentString) countable() bool { return true }

// splice follows the surrogate rule of SPEC §3.3: a split between the halves of a pair
// turns both sides into U+FFFD.
func (c *contentString) splice(off uint64) content {
	r := &contentString{s: c.s[off:]}
	c.s = c.s[:off:off]
	if off > 0 {
		if u := c.s[off-1]; u >= 0xD800 && u <= 0xDBFF {
			c.s = append(c.s[:off-1:off-1], 0xFFFD)
			rs := make([]uint16, len(r.s))
			copy(rs, r.s)
			if len(rs) > 0 {
				rs[0] = 0xFFFD
			}
			r.s = rs
		}
	}
	return r
}
func (c *contentString) mergeWith(right content) bool {
	r, ok := right.(*contentString)
	if ok {
		c.s = append(c.s, r.s...)
	}
	return ok
}
func (c *contentString) write(e updateEncoder, off uint64) { e.writeText(c.s[off:]) }
func (c *contentString) integrate(*Transaction, *item)     {}
func (c *contentString) delete(*Transaction)               {}
func (c *contentString) gc(*structStore)                   {}
func (c *contentString) values() []any {
	out := make([]any, len(c.s))
	for i, u := range c.s {
		out[i] = lib0.StringFromUTF16([]uint16{u})
	}
	return out
}

// contentEmbed is an embedded JSON value in a text.
type contentEmbed struct{ v any }

func (c *contentEmbed) ref() uint8                      { return refEmbed }
func (c *contentEmbed) length() uint64                  { return 1 }
func (c *contentEmbed) countable() bool                 { return true }
func (c *contentEmbed) splice(uint64) content           { panic("crdt: splice of embed content") }
func (c *contentEmbed) mergeWith(content) bool          { return false }
func (c *contentEmbed) write(e updateEncoder, _ uint64) { e.writeJSON(c.v) }
func (c *contentEmbed) integrate(*Transaction, *item)   {}
func (c *contentEmbed) delete(*Transaction)             {}
func (c *contentEmbed) gc(*structStore)                 {}
func (c *contentEmbed) values() []any                   { return []any{c.v} }

// contentFormat is a formatting marker in a text (not countable).
type contentFormat struct {
	key   string
	value any
}

func (c *contentFormat) ref() uint8                      { return refFormat }
func (c *contentFormat) length() uint64                  { return 1 }
func (c *contentFormat) countable() bool                 { return false }
func (c *contentFormat) splice(uint64) content           { panic("crdt: splice of format content") }
func (c *contentFormat) mergeWith(content) bool          { return false }
func (c *contentFormat) write(e updateEncoder, _ uint64) { e.writeKey(c.key); e.writeJSON(c.value) }
func (c *contentFormat) integrate(_ *Transaction, it *item) {
	if it.parent != nil {
		it.parent.hasFormatting = true
		it.parent.everFormatted = true
	}
}
func (c *contentFormat) delete(*Transaction) {}
func (c *contentFormat) gc(*structStore)     {}
func (c *contentFormat) values() []any       { return nil }

// contentType holds a nested shared type.
type contentType struct{ t *branch }

func (c *contentType) ref() uint8            { return refType }
func (c *contentType) length() uint64        { return 1 }
func (c *contentType) countable() bool       { return true }
func (c *contentType) splice(uint64) content { panic("crdt: splice of type content") }
func (c *contentType) mergeWith(content) bool {
	return false
}
func (c *contentType) write(e updateEncoder, _ uint64) {
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
func (c *contentType) values() []any { return []any{c.t.wrapper()} }

// contentAny holds lib0 `any` values.
type contentAny struct{ vals []any }

func (c *contentAny) ref() uint8      { return refAny }
func (c *contentAny) length() uint64  { return uint64(len(c.vals)) }
func (c *contentAny) countable() bool { return true }
func (c *contentAny) splice(off uint64) content {
	r := &contentAny{vals: c.vals[off:]}
	c.vals = c.vals[:off:off]
	return r
}
func (c *contentAny) mergeWith(right content) bool {
	r, ok := right.(*contentAny)
	if ok {
		c.vals = append(c.vals, r.vals...)
	}
	return ok
}
func (c *contentAny) write(e updateEncoder, off uint64) {
	e.writeLen(uint64(len(c.vals)) - off)
	for _, v := range c.vals[off:] {
		e.writeAny(v)
	}
}
func (c *contentAny) integrate(*Transaction, *item) {}
func (c *contentAny) delete(*Transaction)           {}
func (c *contentAny) gc(*structStore)               {}
func (c *contentAny) values() []any                 { return c.vals }

// SubDoc is a subdocument (ContentDoc) as it appears in a map or array: its guid and the
// options Yjs re-encodes for it (gc, autoLoad, meta; SPEC §2.4).
type SubDoc struct {
	GUID string
	Opts lib0.Object
}

// contentDoc holds a subdocument reference.
type contentDoc struct{ d *SubDoc }

func (c *contentDoc) ref() uint8                      { return refDoc }
func (c *contentDoc) length() uint64                  { return 1 }
func (c *contentDoc) countable() bool                 { return true }
func (c *contentDoc) splice(uint64) content           { panic("crdt: splice of doc content") }
func (c *contentDoc) mergeWith(content) bool          { return false }
func (c *contentDoc) write(e updateEncoder, _ uint64) { e.writeString(c.d.GUID); e.writeAny(c.d.Opts) }
func (c *contentDoc) integrate(*Transaction, *item)   {}
func (c *contentDoc) delete(*Transaction)             {}
func (c *contentDoc) gc(*structStore)                 {}
func (c *contentDoc) values() []any                   { return []any{c.d} }

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
func readItemContent(d updateDecoder, info byte) (content, error) {
	switch info & 0x1f {
	case refDeleted:
		n, err := d.readLen()
		if err != nil {
			return nil, err
		}
		return &contentDeleted{n: n}, nil
	case refJSON:
		n, err := d.readLen()
		if err != nil {
			return nil, err
		}
		var vals []any
		for i := uint64(0); i < n; i++ {
			s, err := d.readString()
			if err != nil {
				return nil, err
			}
			if s == "undefined" {
				vals = append(vals, lib0.Undefined{})
				continue
			}
			v, err := lib0.ParseJSON(s)
			if err != nil {
				return nil, codecError("json content", err)
			}
			vals = append(vals, v)
		}
		return &contentJSON{vals: vals}, nil
	case refBinary:
		b, err := d.readBuf()
		if err != nil {
			return nil, err
		}
		return &contentBinary{b: b}, nil
	case refString:
		s, err := d.readText()
		if err != nil {
			return nil, err
		}
		return &contentString{s: s}, nil
	case refEmbed:
		v, err := d.readJSON()
		if err != nil {
			return nil, err
		}
		return &contentEmbed{v: v}, nil
	case refFormat:
		k, err := d.readKey()
		if err != nil {
			return nil, err
		}
		v, err := d.readJSON()
		if err != nil {
			return nil, err
		}
		return &contentFormat{key: k, value: v}, nil
	case refType:
		ref, err := d.readTypeRef()
		if err != nil {
			return nil, err
		}
		if ref > typeXmlText {
			return nil, codecError("type ref", nil)
		}
		name := ""
		if ref == typeXmlElement || ref == typeXmlHook {
			if name, err = d.readKey(); err != nil {
				return nil, err
			}
		}
		return &contentType{t: newBranch(ref, name)}, nil
	case refAny:
		n, err := d.readLen()
		if err != nil {
			return nil, err
		}
		var vals []any
		for i := uint64(0); i < n; i++ {
			v, err := d.readAny()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		return &contentAny{vals: vals}, nil
	case refDoc:
		g, err := d.readString()
		if err != nil {
			return nil, err
		}
		o, err := d.readAny()
		if err != nil {
			return nil, err
		}
		return &contentDoc{d: newSubDoc(g, o)}, nil
	}
	return nil, codecError("content ref", nil)
}
