package lib0

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// Encoder appends lib0-encoded values to a growing byte buffer. The zero value is an empty
// encoder ready to use. An Encoder is not safe for concurrent use.
type Encoder struct {
	buf []byte
}

// Bytes returns the bytes written so far. The slice aliases the encoder's buffer: it stays
// valid until the next write or Reset.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes written so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder and keeps its buffer for reuse.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// WriteUint8 writes one byte.
func (e *Encoder) WriteUint8(b byte) { e.buf = append(e.buf, b) }

// WriteRaw writes b as is, with no length prefix.
func (e *Encoder) WriteRaw(b []byte) { e.buf = append(e.buf, b...) }

// WriteVarUint writes v as a var-uint: 7 bits per byte, least significant group first, the
// shortest form (SPEC §1.1.1). Values above 2^53−1 are written too, but no lib0 reader
// (including ours) accepts them.
func (e *Encoder) WriteVarUint(v uint64) { e.buf = appendVarUint(e.buf, v) }

func appendVarUint(buf []byte, v uint64) []byte {
	for v > 0x7f {
		buf = append(buf, byte(v)|0x80)
		v >>= 7
	}
	return append(buf, byte(v))
}

// WriteVarInt writes v as a var-int: sign and magnitude, the sign in bit 0x40 of the first
// byte (SPEC §1.1.2). It cannot write −0; use WriteVarIntSign for that.
func (e *Encoder) WriteVarInt(v int64) {
	if v < 0 {
		e.WriteVarIntSign(uint64(-v), true) // -MinInt64 wraps to 2^63, the right magnitude
		return
	}
	e.WriteVarIntSign(uint64(v), false)
}

// WriteVarIntSign writes a var-int from its magnitude and sign flag. (0, true) is −0, the
// single byte 0x40, which lib0 uses as a run marker (SPEC §1.3.3) and for the number −0.
func (e *Encoder) WriteVarIntSign(magnitude uint64, negative bool) {
	first := byte(magnitude & 0x3f)
	if negative {
		first |= 0x40
	}
	magnitude >>= 6
	if magnitude > 0 {
		first |= 0x80
	}
	e.buf = append(e.buf, first)
	if magnitude > 0 {
		e.buf = appendVarUint(e.buf, magnitude)
	}
}

// WriteVarString writes s as a var-uint UTF-8 byte count followed by the UTF-8 bytes
// (SPEC §1.1.3). s should be valid UTF-8; otherwise it is written the way TextEncoder writes
// the JavaScript string it stands for: an encoded surrogate (WTF-8, as ParseJSON produces for
// a lone-surrogate escape) pairs with a following one or becomes U+FFFD, and every other
// invalid byte becomes U+FFFD.
func (e *Encoder) WriteVarString(s string) {
	if utf8.ValidString(s) {
		e.buf = appendVarUint(e.buf, uint64(len(s)))
		e.buf = append(e.buf, s...)
		return
	}
	n := wellFormedLen(s)
	e.buf = appendVarUint(e.buf, uint64(n))
	e.buf = appendWellFormed(e.buf, s)
}

// WriteVarStringUTF16 writes the string given as UTF-16 code units, like WriteVarString. Each
// lone surrogate becomes U+FFFD, as TextEncoder does.
func (e *Encoder) WriteVarStringUTF16(u []uint16) {
	e.buf = appendVarUint(e.buf, uint64(utf8LenOfUTF16(u)))
	e.buf = appendUTF16AsUTF8(e.buf, u)
}

// WriteVarUint8Array writes a var-uint length followed by the bytes.
func (e *Encoder) WriteVarUint8Array(b []byte) {
	e.buf = appendVarUint(e.buf, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// WriteFloat32 writes f as 4 bytes, big-endian IEEE 754.
func (e *Encoder) WriteFloat32(f float32) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, math.Float32bits(f))
}

// WriteFloat64 writes f as 8 bytes, big-endian IEEE 754, keeping NaN payload bits.
func (e *Encoder) WriteFloat64(f float64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// WriteBigInt64 writes v as 8 bytes, big-endian two's complement.
func (e *Encoder) WriteBigInt64(v int64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v))
}
