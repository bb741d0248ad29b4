package crdt

import (
	"bytes"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Update v1 (SPEC §1.3.2, §2.3): every field goes into one lib0 stream, in the order the
// logical layout of SPEC §1.3.1 gives. This mirrors Yjs's UpdateEncoderV1/UpdateDecoderV1 and
// DSEncoderV1/DSDecoderV1 (yjs/yjs: src/utils/UpdateEncoder.js, src/utils/UpdateDecoder.js).

// maxSafeInt is the largest integer JavaScript represents exactly (2^53−1); clocks, client ids
// and lengths never exceed it on the wire.
const maxSafeInt = 1<<53 - 1

// maxTypeRef is the largest ContentType type ref Yjs knows (6, YXmlText; SPEC §2.5).
const maxTypeRef = 6

// codecError wraps a decoding failure so that it matches ErrMalformed and, when cause is
// non-nil, the lib0 error underneath.
func codecError(field string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrMalformed, field)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, field, cause)
}

// dsEncoderV1 writes a delete set (or a snapshot's state vector) in v1.
type dsEncoderV1 struct {
	rest lib0.Encoder
}

func newDSEncoderV1() dsEncoder { return &dsEncoderV1{} }

func (e *dsEncoderV1) restEncoder() *lib0.Encoder { return &e.rest }
func (e *dsEncoderV1) resetDsCurVal()             {}
func (e *dsEncoderV1) writeDsClock(clock uint64)  { e.rest.WriteVarUint(clock) }
func (e *dsEncoderV1) writeDsLen(length uint64)   { e.rest.WriteVarUint(length) }

// toBytes returns a copy of the bytes written so far.
func (e *dsEncoderV1) toBytes() []byte { return bytes.Clone(e.rest.Bytes()) }

// updateEncoderV1 writes a whole v1 update.
type updateEncoderV1 struct {
	dsEncoderV1
}

func newUpdateEncoderV1() updateEncoder { return &updateEncoderV1{} }

func (e *updateEncoderV1) writeLeftID(id ID) {
	e.rest.WriteVarUint(id.Client)
	e.rest.WriteVarUint(id.Clock)
}

func (e *updateEncoderV1) writeRightID(id ID) {
	e.rest.WriteVarUint(id.Client)
	e.rest.WriteVarUint(id.Clock)
}

func (e *updateEncoderV1) writeClient(client uint64) { e.rest.WriteVarUint(client) }
func (e *updateEncoderV1) writeInfo(info byte)       { e.rest.WriteUint8(info) }
func (e *updateEncoderV1) writeString(s string)      { e.rest.WriteVarString(s) }
func (e *updateEncoderV1) writeText(u []uint16)      { e.rest.WriteVarStringUTF16(u) }

// writeASCII writes the var-string whose UTF-8 bytes are b.
func (e *updateEncoderV1) writeASCII(b []byte) { e.rest.WriteVarUint8Array(b) }

func (e *updateEncoderV1) writeParentInfo(isYKey bool) {
	if isYKey {
		e.rest.WriteVarUint(1)
	} else {
		e.rest.WriteVarUint(0)
	}
}

func (e *updateEncoderV1) writeTypeRef(ref uint8) { e.rest.WriteVarUint(uint64(ref)) }
func (e *updateEncoderV1) writeLen(n uint64)      { e.rest.WriteVarUint(n) }
func (e *updateEncoderV1) writeAny(v any)         { e.rest.WriteAny(v) }
func (e *updateEncoderV1) writeBuf(b []byte)      { e.rest.WriteVarUint8Array(b) }

// writeJSON writes JSON.stringify(v) as a var-string (SPEC §1.2.4).
func (e *updateEncoderV1) writeJSON(v any) { e.rest.WriteVarString(lib0.StringifyJSON(v)) }

func (e *updateEncoderV1) writeKey(key string) { e.rest.WriteVarString(key) }

// dsDecoderV1 reads a v1 delete set.
type dsDecoderV1 struct {
	rest *lib0.Decoder
}

func newDSDecoderV1(b []byte) dsDecoder { return &dsDecoderV1{rest: lib0.NewDecoder(b)} }

func (d *dsDecoderV1) restDecoder() *lib0.Decoder { return d.rest }
func (d *dsDecoderV1) resetDsCurVal()             {}

func (d *dsDecoderV1) readDsClock() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, codecError("delete set clock", err)
	}
	return v, nil
}

func (d *dsDecoderV1) readDsLen() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, codecError("delete set length", err)
	}
	return v, nil
}

// updateDecoderV1 reads a whole v1 update.
type updateDecoderV1 struct {
	dsDecoderV1
}

func newUpdateDecoderV1(b []byte) updateDecoder {
	return &updateDecoderV1{dsDecoderV1{rest: lib0.NewDecoder(b)}}
}

func (d *updateDecoderV1) readID(field string) (ID, error) {
	client, err := d.rest.ReadVarUint()
	if err != nil {
		return ID{}, codecError(field+" client", err)
	}
	clock, err := d.rest.ReadVarUint()
	if err != nil {
		return ID{}, codecError(field+" clock", err)
	}
	return ID{Client: client, Clock: clock}, nil
}

func (d *updateDecoderV1) readLeftID() (ID, error)  { return d.readID("left id") }
func (d *updateDecoderV1) readRightID() (ID, error) { return d.readID("right id") }

func (d *updateDecoderV1) readClient() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, codecError("client", err)
	}
	return v, nil
}

func (d *updateDecoderV1) readInfo() (byte, error) {
	v, err := d.rest.ReadUint8()
	if err != nil {
		return 0, codecError("info", err)
	}
	return v, nil
}

func (d *updateDecoderV1) readString() (string, error) {
	s, err := d.rest.ReadVarString()
	if err != nil {
		return "", codecError("string", err)
	}
	return s, nil
}

func (d *updateDecoderV1) readText() ([]uint16, error) {
	u, err := d.rest.ReadVarStringUTF16()
	if err != nil {
		return nil, codecError("string content", err)
	}
	return u, nil
}

// readTextContent reads a var-string as String content: ASCII text is copied as bytes, other
// text is validated like ReadVarStringUTF16 and kept as UTF-16.
func (d *updateDecoderV1) readTextContent() (content, uint64, error) {
	b, err := d.rest.ReadVarUint8Array()
	if err != nil {
		return nil, 0, codecError("string content", err)
	}
	if len(b) == 0 {
		return nil, 0, codecError("zero-length struct", nil)
	}
	if isASCII(b) {
		c, n := newContentASCII(bytes.Clone(b))
		return c, n, nil
	}
	if !utf8.Valid(b) {
		return nil, 0, codecError("string content", fmt.Errorf("%w: invalid UTF-8 in var-string", lib0.ErrMalformed))
	}
	c, n := newContentString(lib0.UTF16(unsafe.String(&b[0], len(b))))
	return c, n, nil
}

// readParentInfo reports whether the parent is a root name: Yjs treats 1 as a root name and
// every other value as an item id.
func (d *updateDecoderV1) readParentInfo() (bool, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return false, codecError("parent info", err)
	}
	return v == 1, nil
}

func (d *updateDecoderV1) readTypeRef() (uint8, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, codecError("type ref", err)
	}
	if v > maxTypeRef {
		return 0, codecError(fmt.Sprintf("type ref %d out of range", v), nil)
	}
	return uint8(v), nil
}

func (d *updateDecoderV1) readLen() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, codecError("length", err)
	}
	return v, nil
}

func (d *updateDecoderV1) readAny() (any, error) {
	v, err := d.rest.ReadAny()
	if err != nil {
		return nil, codecError("any", err)
	}
	return v, nil
}

// readBuf returns a copy, so that callers may keep it after the input is reused.
func (d *updateDecoderV1) readBuf() ([]byte, error) {
	b, err := d.rest.ReadVarUint8Array()
	if err != nil {
		return nil, codecError("binary", err)
	}
	return bytes.Clone(b), nil
}

// readJSON parses a var-string with JSON.parse semantics (SPEC §1.2.4).
func (d *updateDecoderV1) readJSON() (any, error) {
	s, err := d.rest.ReadVarString()
	if err != nil {
		return nil, codecError("json", err)
	}
	v, err := lib0.ParseJSON(s)
	if err != nil {
		return nil, codecError("json", err)
	}
	return v, nil
}

func (d *updateDecoderV1) readKey() (string, error) {
	s, err := d.rest.ReadVarString()
	if err != nil {
		return "", codecError("key", err)
	}
	return s, nil
}
