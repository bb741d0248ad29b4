package lib0

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// Decoder reads lib0-encoded values from a byte slice. Every read checks the input that
// remains; at the end of input it returns an error wrapping ErrUnexpectedEOF, and on input
// lib0 would not write (or that this package refuses, SPEC §1.5) an error wrapping
// ErrMalformed. Nothing is allocated from a claimed length or count before it is checked
// against the remaining input. After an error the position is unspecified.
//
// A Decoder never modifies its input. Byte slices it returns alias the input. A Decoder is not
// safe for concurrent use.
type Decoder struct {
	buf []byte
	pos int
}

// NewDecoder returns a decoder that reads b from its start.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Pos returns the offset of the next byte to read.
func (d *Decoder) Pos() int { return d.pos }

// Remaining returns the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.pos }

// Rest returns the unread bytes without copying them.
func (d *Decoder) Rest() []byte { return d.buf[d.pos:] }

// ReadUint8 reads one byte.
func (d *Decoder) ReadUint8() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, eofAt(d.pos, "uint8")
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

// ReadRaw reads the next n bytes and returns them as a sub-slice of the input.
func (d *Decoder) ReadRaw(n int) ([]byte, error) {
	if n < 0 || n > len(d.buf)-d.pos {
		return nil, eofAt(d.pos, "raw bytes")
	}
	b := d.buf[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

// ReadVarUint reads a var-uint (SPEC §1.1.1). It accepts non-minimal forms and refuses a
// value above 2^53−1 or a form longer than 9 bytes.
func (d *Decoder) ReadVarUint() (uint64, error) {
	start := d.pos
	var v uint64
	for shift := uint(0); shift < 63; shift += 7 {
		if d.pos >= len(d.buf) {
			return 0, eofAt(start, "var-uint")
		}
		b := d.buf[d.pos]
		d.pos++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if v > maxSafeInteger {
				return 0, malformedAt(start, "var-uint above 2^53-1")
			}
			return v, nil
		}
	}
	return 0, malformedAt(start, "var-uint longer than 9 bytes")
}

// ReadVarInt reads a var-int (SPEC §1.1.2) as its magnitude and sign flag, so that −0 (0x40)
// stays distinct from 0. It refuses a magnitude above 2^53−1 or a form longer than 9 bytes.
func (d *Decoder) ReadVarInt() (magnitude uint64, negative bool, err error) {
	return d.readVarInt(maxSafeInteger, "var-int above 2^53-1")
}

// readVarInt is ReadVarInt with another bound on the magnitude: above limit it fails with
// the message tooBig.
func (d *Decoder) readVarInt(limit uint64, tooBig string) (magnitude uint64, negative bool, err error) {
	start := d.pos
	if d.pos >= len(d.buf) {
		return 0, false, eofAt(start, "var-int")
	}
	b := d.buf[d.pos]
	d.pos++
	magnitude = uint64(b & 0x3f)
	negative = b&0x40 != 0
	if b < 0x80 {
		return magnitude, negative, nil
	}
	for shift := uint(6); shift < 62; shift += 7 {
		if d.pos >= len(d.buf) {
			return 0, false, eofAt(start, "var-int")
		}
		b = d.buf[d.pos]
		d.pos++
		magnitude |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if magnitude > limit {
				return 0, false, malformedAt(start, tooBig)
			}
			return magnitude, negative, nil
		}
	}
	return 0, false, malformedAt(start, "var-int longer than 9 bytes")
}

// readLen reads a var-uint length prefix and checks it against the remaining input.
func (d *Decoder) readLen(what string) (int, error) {
	start := d.pos
	n, err := d.ReadVarUint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.buf)-d.pos) {
		return 0, eofAt(start, what+" longer than the input")
	}
	return int(n), nil
}

// ReadVarString reads a var-string (SPEC §1.1.3): a UTF-8 byte count, then that many bytes,
// which must be valid UTF-8 (a leading BOM is kept). The string is a copy.
func (d *Decoder) ReadVarString() (string, error) {
	b, err := d.readStringBytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (d *Decoder) readStringBytes() ([]byte, error) {
	start := d.pos
	n, err := d.readLen("var-string")
	if err != nil {
		return nil, err
	}
	b := d.buf[d.pos : d.pos+n]
	if !utf8.Valid(b) {
		return nil, malformedAt(start, "invalid UTF-8 in var-string")
	}
	d.pos += n
	return b, nil
}

// ReadVarStringUTF16 reads a var-string like ReadVarString and returns it as UTF-16 code
// units.
func (d *Decoder) ReadVarStringUTF16() ([]uint16, error) {
	b, err := d.readStringBytes()
	if err != nil {
		return nil, err
	}
	return appendUTF16(make([]uint16, 0, utf16LenValid(b)), b), nil
}

// ReadVarUint8Array reads a var-uint length and that many bytes, returned as a sub-slice of
// the input (capacity clipped to its length).
func (d *Decoder) ReadVarUint8Array() ([]byte, error) {
	n, err := d.readLen("var-uint8array")
	if err != nil {
		return nil, err
	}
	b := d.buf[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

// ReadFloat32 reads 4 bytes of big-endian IEEE 754.
func (d *Decoder) ReadFloat32() (float32, error) {
	if len(d.buf)-d.pos < 4 {
		return 0, eofAt(d.pos, "float32")
	}
	v := binary.BigEndian.Uint32(d.buf[d.pos:])
	d.pos += 4
	return math.Float32frombits(v), nil
}

// ReadFloat64 reads 8 bytes of big-endian IEEE 754, keeping NaN payload bits.
func (d *Decoder) ReadFloat64() (float64, error) {
	if len(d.buf)-d.pos < 8 {
		return 0, eofAt(d.pos, "float64")
	}
	v := binary.BigEndian.Uint64(d.buf[d.pos:])
	d.pos += 8
	return math.Float64frombits(v), nil
}

// ReadBigInt64 reads 8 bytes of big-endian two's complement.
func (d *Decoder) ReadBigInt64() (int64, error) {
	if len(d.buf)-d.pos < 8 {
		return 0, eofAt(d.pos, "bigint64")
	}
	v := binary.BigEndian.Uint64(d.buf[d.pos:])
	d.pos += 8
	return int64(v), nil
}
