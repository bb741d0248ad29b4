package crdt

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Update v2 (SPEC §1.3.3–§1.3.6): nine columns, each written as a var-uint8array after a
// feature flag, followed by the rest stream without a length prefix. This mirrors Yjs's
// UpdateEncoderV2/UpdateDecoderV2 and DSEncoderV2/DSDecoderV2 (yjs/yjs:
// src/utils/UpdateEncoder.js, src/utils/UpdateDecoder.js).

// dsEncoderV2 writes a v2 delete set: each range's clock relative to the end of the previous
// range of the same client, and its length minus one.
type dsEncoderV2 struct {
	rest   lib0.Encoder
	dsCurr uint64
}

func newDSEncoderV2() dsEncoder { return &dsEncoderV2{} }

func (e *dsEncoderV2) restEncoder() *lib0.Encoder { return &e.rest }
func (e *dsEncoderV2) resetDsCurVal()             { e.dsCurr = 0 }

// writeDsClock writes clock relative to the running value. Callers write delete sets sorted
// and merged (SPEC §1.3.6), so clock is never below it.
func (e *dsEncoderV2) writeDsClock(clock uint64) {
	// An unsorted delete set wraps around exactly as lib0 writes a negative difference's
	// low bits; writers normalise first, so this is never reached with Yjs-valid input.
	e.rest.WriteVarUint((clock - e.dsCurr) & maxSafeInt)
	e.dsCurr = clock
}

// writeDsLen writes length−1. Invariant: length > 0 (Yjs throws "Unexpected case"; delete
// sets are normalised before they are written, which drops empty ranges).
func (e *dsEncoderV2) writeDsLen(length uint64) {
	if length == 0 {
		panic("crdt: zero-length delete set range written in update v2")
	}
	e.rest.WriteVarUint(length - 1)
	e.dsCurr += length
}

func (e *dsEncoderV2) toBytes() []byte { return bytes.Clone(e.rest.Bytes()) }

// updateEncoderV2 writes a whole v2 update.
type updateEncoderV2 struct {
	dsEncoderV2
	keyClock   uint64
	keyClocks  lib0.IntDiffOptRleEncoder
	clients    lib0.UintOptRleEncoder
	leftClock  lib0.IntDiffOptRleEncoder
	rightClock lib0.IntDiffOptRleEncoder
	info       lib0.RleEncoder
	strings    lib0.StringEncoder
	parentInfo lib0.RleEncoder
	typeRefs   lib0.UintOptRleEncoder
	lens       lib0.UintOptRleEncoder
}

func newUpdateEncoderV2() updateEncoder { return &updateEncoderV2{} }

// toBytes assembles the feature flag, the nine columns and the rest stream.
func (e *updateEncoderV2) toBytes() []byte {
	var out lib0.Encoder
	out.WriteVarUint(0) // feature flag
	out.WriteVarUint8Array(e.keyClocks.Bytes())
	out.WriteVarUint8Array(e.clients.Bytes())
	out.WriteVarUint8Array(e.leftClock.Bytes())
	out.WriteVarUint8Array(e.rightClock.Bytes())
	out.WriteVarUint8Array(e.info.Bytes())
	out.WriteVarUint8Array(e.strings.Bytes())
	out.WriteVarUint8Array(e.parentInfo.Bytes())
	out.WriteVarUint8Array(e.typeRefs.Bytes())
	out.WriteVarUint8Array(e.lens.Bytes())
	out.WriteRaw(e.rest.Bytes())
	return out.Bytes()
}

func (e *updateEncoderV2) writeLeftID(id ID) {
	e.clients.Write(id.Client)
	e.leftClock.Write(int64(id.Clock))
}

func (e *updateEncoderV2) writeRightID(id ID) {
	e.clients.Write(id.Client)
	e.rightClock.Write(int64(id.Clock))
}

func (e *updateEncoderV2) writeClient(client uint64) { e.clients.Write(client) }
func (e *updateEncoderV2) writeInfo(info byte)       { e.info.Write(info) }
func (e *updateEncoderV2) writeString(s string)      { e.strings.Write(s) }

// writeText appends UTF-16 code units to the string column, which is joined in UTF-16 before
// it becomes UTF-8 (SPEC §1.3.4).
func (e *updateEncoderV2) writeText(u []uint16) { e.strings.WriteUTF16(u) }

// writeASCII appends ASCII text to the string column (Write does not keep its argument).
func (e *updateEncoderV2) writeASCII(b []byte) {
	if len(b) == 0 {
		e.strings.Write("")
		return
	}
	e.strings.Write(unsafe.String(&b[0], len(b)))
}

func (e *updateEncoderV2) writeParentInfo(isYKey bool) {
	if isYKey {
		e.parentInfo.Write(1)
	} else {
		e.parentInfo.Write(0)
	}
}

func (e *updateEncoderV2) writeTypeRef(ref uint8) { e.typeRefs.Write(uint64(ref)) }
func (e *updateEncoderV2) writeLen(n uint64)      { e.lens.Write(n) }
func (e *updateEncoderV2) writeAny(v any)         { e.rest.WriteAny(v) }
func (e *updateEncoderV2) writeBuf(b []byte)      { e.rest.WriteVarUint8Array(b) }
func (e *updateEncoderV2) writeJSON(v any)        { e.rest.WriteAny(v) }

// writeKey never refers back to an earlier key: like Yjs, it writes the next counter value
// and the key itself every time (SPEC §1.3.5).
func (e *updateEncoderV2) writeKey(key string) {
	e.keyClocks.Write(int64(e.keyClock))
	e.keyClock++
	e.strings.Write(key)
}

// dsDecoderV2 reads a v2 delete set from the rest stream.
type dsDecoderV2 struct {
	rest   *lib0.Decoder
	dsCurr uint64
}

func newDSDecoderV2(b []byte) dsDecoder { return &dsDecoderV2{rest: lib0.NewDecoder(b)} }

func (d *dsDecoderV2) restDecoder() *lib0.Decoder { return d.rest }
func (d *dsDecoderV2) resetDsCurVal()             { d.dsCurr = 0 }

func (d *dsDecoderV2) readDsClock() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, codecError("delete set clock", err)
	}
	if v > maxSafeInt-d.dsCurr {
		return 0, codecError("delete set clock out of range", nil)
	}
	d.dsCurr += v
	return d.dsCurr, nil
}

func (d *dsDecoderV2) readDsLen() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, codecError("delete set length", err)
	}
	v++
	if v > maxSafeInt-d.dsCurr {
		return 0, codecError("delete set range out of range", nil)
	}
	d.dsCurr += v
	return v, nil
}

// updateDecoderV2 reads a whole v2 update. Its columns are read when it is built; the rest
// stream is everything after them.
type updateDecoderV2 struct {
	dsDecoderV2
	keys       []string
	keyClocks  *lib0.IntDiffOptRleDecoder
	clients    *lib0.UintOptRleDecoder
	leftClock  *lib0.IntDiffOptRleDecoder
	rightClock *lib0.IntDiffOptRleDecoder
	info       *lib0.RleDecoder
	strings    *lib0.StringDecoder
	parentInfo *lib0.RleDecoder
	typeRefs   *lib0.UintOptRleDecoder
	lens       *lib0.UintOptRleDecoder
}

// v2ColumnNames names the nine columns in wire order, for error messages.
var v2ColumnNames = [9]string{"key clock", "client", "left clock", "right clock", "info",
	"string", "parent info", "type ref", "length"}

func newUpdateDecoderV2(b []byte) (updateDecoder, error) {
	dec := lib0.NewDecoder(b)
	if _, err := dec.ReadVarUint(); err != nil {
		return nil, codecError("v2 feature flag", err)
	}
	var cols [9][]byte
	for i := range cols {
		c, err := dec.ReadVarUint8Array()
		if err != nil {
			return nil, codecError("v2 "+v2ColumnNames[i]+" column", err)
		}
		cols[i] = c
	}
	strs, err := lib0.NewStringDecoder(cols[5])
	if err != nil {
		return nil, codecError("v2 string column", err)
	}
	return &updateDecoderV2{
		dsDecoderV2: dsDecoderV2{rest: lib0.NewDecoder(dec.Rest())},
		keyClocks:   lib0.NewIntDiffOptRleDecoder(cols[0]),
		clients:     lib0.NewUintOptRleDecoder(cols[1]),
		leftClock:   lib0.NewIntDiffOptRleDecoder(cols[2]),
		rightClock:  lib0.NewIntDiffOptRleDecoder(cols[3]),
		info:        lib0.NewRleDecoder(cols[4]),
		strings:     strs,
		parentInfo:  lib0.NewRleDecoder(cols[6]),
		typeRefs:    lib0.NewUintOptRleDecoder(cols[7]),
		lens:        lib0.NewUintOptRleDecoder(cols[8]),
	}, nil
}

// readClock reads a clock from an IntDiffOptRle column and checks its range.
func readClockColumn(c *lib0.IntDiffOptRleDecoder, field string) (uint64, error) {
	v, err := c.Read()
	if err != nil {
		return 0, codecError(field, err)
	}
	if v < 0 || v > maxSafeInt {
		return 0, codecError(fmt.Sprintf("%s %d out of range", field, v), nil)
	}
	return uint64(v), nil
}

func (d *updateDecoderV2) readLeftID() (ID, error) {
	client, err := d.clients.Read()
	if err != nil {
		return ID{}, codecError("left id client", err)
	}
	clock, err := readClockColumn(d.leftClock, "left id clock")
	if err != nil {
		return ID{}, err
	}
	return ID{Client: client, Clock: clock}, nil
}

func (d *updateDecoderV2) readRightID() (ID, error) {
	client, err := d.clients.Read()
	if err != nil {
		return ID{}, codecError("right id client", err)
	}
	clock, err := readClockColumn(d.rightClock, "right id clock")
	if err != nil {
		return ID{}, err
	}
	return ID{Client: client, Clock: clock}, nil
}

func (d *updateDecoderV2) readClient() (uint64, error) {
	v, err := d.clients.Read()
	if err != nil {
		return 0, codecError("client", err)
	}
	return v, nil
}

func (d *updateDecoderV2) readInfo() (byte, error) {
	v, err := d.info.Read()
	if err != nil {
		return 0, codecError("info", err)
	}
	return v, nil
}

func (d *updateDecoderV2) readString() (string, error) {
	s, err := d.strings.Read()
	if err != nil {
		return "", codecError("string", err)
	}
	return s, nil
}

func (d *updateDecoderV2) readText() ([]uint16, error) {
	u, err := d.strings.ReadUTF16()
	if err != nil {
		return nil, codecError("string content", err)
	}
	return u, nil
}

func (d *updateDecoderV2) readTextContent() (content, uint64, error) {
	u, err := d.readText()
	if err != nil {
		return nil, 0, err
	}
	if len(u) == 0 {
		return nil, 0, codecError("zero-length struct", nil)
	}
	c, n := newTextContentUnits(u)
	return c, n, nil
}

func (d *updateDecoderV2) readParentInfo() (bool, error) {
	v, err := d.parentInfo.Read()
	if err != nil {
		return false, codecError("parent info", err)
	}
	return v == 1, nil
}

func (d *updateDecoderV2) readTypeRef() (uint8, error) {
	v, err := d.typeRefs.Read()
	if err != nil {
		return 0, codecError("type ref", err)
	}
	if v > maxTypeRef {
		return 0, codecError(fmt.Sprintf("type ref %d out of range", v), nil)
	}
	return uint8(v), nil
}

func (d *updateDecoderV2) readLen() (uint64, error) {
	v, err := d.lens.Read()
	if err != nil {
		return 0, codecError("length", err)
	}
	return v, nil
}

func (d *updateDecoderV2) readAny() (any, error) {
	v, err := d.rest.ReadAny()
	if err != nil {
		return nil, codecError("any", err)
	}
	return v, nil
}

// readBuf returns a copy, so that callers may keep it after the input is reused.
func (d *updateDecoderV2) readBuf() ([]byte, error) {
	b, err := d.rest.ReadVarUint8Array()
	if err != nil {
		return nil, codecError("binary", err)
	}
	return bytes.Clone(b), nil
}

// readJSON reads an `any` value: v2 stores Embed and Format values that way. A value that has
// no JSON text (undefined at top level, or a BigInt anywhere) is refused, because v1 writes
// these values as JSON text and a Doc must be able to encode what it accepted (see Caveats).
func (d *updateDecoderV2) readJSON() (any, error) {
	v, err := d.rest.ReadAny()
	if err != nil {
		return nil, codecError("json", err)
	}
	if !lazyJSONWritable(v, true) {
		return nil, codecError("json value has no JSON text (undefined or bigint)", nil)
	}
	return v, nil
}

// readKey resolves a key through the key cache (SPEC §1.3.5): a counter below the number of
// keys read so far refers back to that key; any other value reads the next string.
func (d *updateDecoderV2) readKey() (string, error) {
	k, err := d.keyClocks.Read()
	if err != nil {
		return "", codecError("key clock", err)
	}
	if k < 0 {
		return "", codecError(fmt.Sprintf("key clock %d negative", k), nil)
	}
	if k < int64(len(d.keys)) {
		return d.keys[k], nil
	}
	s, err := d.strings.Read()
	if err != nil {
		return "", codecError("key", err)
	}
	d.keys = append(d.keys, s)
	return s, nil
}
