package lib0

// The column codecs of Yjs update format v2 (SPEC §1.3.3; dmonad/lib0: encoding.js and
// decoding.js, RleEncoder, UintOptRleEncoder, IncUintOptRleEncoder, IntDiffOptRleEncoder,
// StringEncoder and their decoders). Encoders keep the pending run and write it when Bytes is
// called; decoders keep the current run as (value, count) and never expand it.

// RleEncoder writes a column of bytes run-length encoded: each run is the byte followed by
// var-uint(count−1), except the last run, whose count is never written. The zero value is
// ready to use.
type RleEncoder struct {
	enc   Encoder
	s     byte
	count uint64
}

// Write appends b to the column.
func (e *RleEncoder) Write(b byte) {
	if e.count > 0 && e.s == b {
		e.count++
		return
	}
	if e.count > 0 {
		e.enc.WriteVarUint(e.count - 1)
	}
	e.enc.WriteUint8(b)
	e.s = b
	e.count = 1
}

// Bytes returns the encoded column. The last run needs no count, so it aliases the encoder's
// buffer like Encoder.Bytes.
func (e *RleEncoder) Bytes() []byte { return e.enc.Bytes() }

// RleDecoder reads a column written by RleEncoder. Once the column's bytes are used up, the
// last run lasts for ever, as in lib0 (Yjs relies on it).
type RleDecoder struct {
	d       Decoder
	s       byte
	count   uint64 // values left in the current run
	forever bool
}

// NewRleDecoder returns a decoder for the column b.
func NewRleDecoder(b []byte) *RleDecoder { return &RleDecoder{d: Decoder{buf: b}} }

// Read returns the next byte of the column. Reading from an empty column is an error.
func (d *RleDecoder) Read() (byte, error) {
	if d.count == 0 && !d.forever {
		s, err := d.d.ReadUint8()
		if err != nil {
			return 0, err
		}
		d.s = s
		if d.d.Remaining() == 0 {
			d.forever = true
		} else {
			c, err := d.d.ReadVarUint()
			if err != nil {
				return 0, err
			}
			d.count = c + 1
		}
	}
	if !d.forever {
		d.count--
	}
	return d.s, nil
}

// uintOptRle is the run state shared by UintOptRleEncoder and IncUintOptRleEncoder.
type uintOptRle struct {
	enc   Encoder
	s     uint64
	count uint64
}

// bytes returns the column bytes with the pending run appended (see writeRun). The result is
// a new slice when a run is pending, so the encoder's state is unchanged.
func (r *uintOptRle) bytes() []byte {
	if r.count == 0 {
		return r.enc.Bytes()
	}
	var tail Encoder
	b := r.enc.Bytes()
	tail.buf = b[:len(b):len(b)] // force a copy on append
	tail.writeRun(r.s, r.count)
	return tail.buf
}

// writeRun writes a UintOptRle run of value s: a single value as var-int(+s), a longer run as
// var-int(−s) (−0 for 0) then var-uint(count−2).
func (e *Encoder) writeRun(s, count uint64) {
	if count == 1 {
		e.WriteVarIntSign(s, false)
		return
	}
	e.WriteVarIntSign(s, true)
	e.WriteVarUint(count - 2)
}

// UintOptRleEncoder writes a column of unsigned integers as runs of equal values: a run of
// one as var-int(+v), a longer run as var-int(−v) (−0 for 0) and var-uint(count−2). The zero
// value is ready to use. Values should not exceed 2^53−1.
type UintOptRleEncoder struct{ r uintOptRle }

// Write appends v to the column.
func (e *UintOptRleEncoder) Write(v uint64) {
	r := &e.r
	if r.count > 0 && r.s == v {
		r.count++
		return
	}
	if r.count > 0 {
		r.enc.writeRun(r.s, r.count)
	}
	r.s = v
	r.count = 1
}

// Bytes returns the encoded column including the pending run. It does not change the encoder,
// so more values may be written after it.
func (e *UintOptRleEncoder) Bytes() []byte { return e.r.bytes() }

// IncUintOptRleEncoder writes a column of unsigned integers as runs of values that each
// increase by one, in UintOptRle form (run start, count). The zero value is ready to use. Yjs
// updates do not use it.
type IncUintOptRleEncoder struct{ r uintOptRle }

// Write appends v to the column.
func (e *IncUintOptRleEncoder) Write(v uint64) {
	r := &e.r
	if r.s+r.count == v {
		r.count++ // also starts the first run when v is 0, as lib0 does
		return
	}
	if r.count > 0 {
		r.enc.writeRun(r.s, r.count)
	}
	r.s = v
	r.count = 1
}

// Bytes returns the encoded column including the pending run. It does not change the encoder.
func (e *IncUintOptRleEncoder) Bytes() []byte { return e.r.bytes() }

// uintOptRleReader is the run state shared by the UintOptRle decoders.
type uintOptRleReader struct {
	d     Decoder
	s     uint64
	count uint64
}

// next starts a new run if the current one is used up.
func (r *uintOptRleReader) next() error {
	if r.count > 0 {
		return nil
	}
	if r.d.Remaining() == 0 {
		return eofAt(r.d.pos, "column exhausted")
	}
	m, neg, err := r.d.ReadVarInt()
	if err != nil {
		return err
	}
	r.s = m
	r.count = 1
	if neg {
		c, err := r.d.ReadVarUint()
		if err != nil {
			return err
		}
		r.count = c + 2
	}
	return nil
}

// UintOptRleDecoder reads a column written by UintOptRleEncoder. Reading past the end of the
// column is an error.
type UintOptRleDecoder struct{ r uintOptRleReader }

// NewUintOptRleDecoder returns a decoder for the column b.
func NewUintOptRleDecoder(b []byte) *UintOptRleDecoder {
	return &UintOptRleDecoder{uintOptRleReader{d: Decoder{buf: b}}}
}

// Read returns the next value of the column.
func (d *UintOptRleDecoder) Read() (uint64, error) {
	if err := d.r.next(); err != nil {
		return 0, err
	}
	d.r.count--
	return d.r.s, nil
}

// IncUintOptRleDecoder reads a column written by IncUintOptRleEncoder. Reading past the end of
// the column, or a value above 2^53−1, is an error.
type IncUintOptRleDecoder struct{ r uintOptRleReader }

// NewIncUintOptRleDecoder returns a decoder for the column b.
func NewIncUintOptRleDecoder(b []byte) *IncUintOptRleDecoder {
	return &IncUintOptRleDecoder{uintOptRleReader{d: Decoder{buf: b}}}
}

// Read returns the next value of the column.
func (d *IncUintOptRleDecoder) Read() (uint64, error) {
	if err := d.r.next(); err != nil {
		return 0, err
	}
	v := d.r.s
	if v > maxSafeInteger {
		return 0, malformedAt(d.r.d.pos, "column value above 2^53-1")
	}
	d.r.s++
	d.r.count--
	return v, nil
}

// IntDiffOptRleEncoder writes a column of integers as runs of equal differences between
// consecutive values (the value before the first is 0): each run is var-int(diff·2 + (count>1))
// followed, for a run longer than one, by var-uint(count−2). The zero value is ready to use.
type IntDiffOptRleEncoder struct {
	enc   Encoder
	s     int64 // last value written
	diff  int64
	count uint64
}

// Write appends v to the column.
func (e *IntDiffOptRleEncoder) Write(v int64) {
	if e.diff == v-e.s {
		e.s = v
		e.count++
		return
	}
	if e.count > 0 {
		writeDiffRun(&e.enc, e.diff, e.count)
	}
	e.count = 1
	e.diff = v - e.s
	e.s = v
}

func writeDiffRun(e *Encoder, diff int64, count uint64) {
	d := diff * 2
	if count > 1 {
		d++
	}
	e.WriteVarInt(d)
	if count > 1 {
		e.WriteVarUint(count - 2)
	}
}

// Bytes returns the encoded column including the pending run. It does not change the encoder.
func (e *IntDiffOptRleEncoder) Bytes() []byte {
	b := e.enc.Bytes()
	if e.count == 0 {
		return b
	}
	tail := Encoder{buf: b[:len(b):len(b)]}
	writeDiffRun(&tail, e.diff, e.count)
	return tail.buf
}

// IntDiffOptRleDecoder reads a column written by IntDiffOptRleEncoder. Reading past the end
// of the column, or a value outside ±(2^53−1), is an error.
type IntDiffOptRleDecoder struct {
	d     Decoder
	s     int64
	diff  int64
	count uint64
}

// NewIntDiffOptRleDecoder returns a decoder for the column b.
func NewIntDiffOptRleDecoder(b []byte) *IntDiffOptRleDecoder {
	return &IntDiffOptRleDecoder{d: Decoder{buf: b}}
}

// Read returns the next value of the column.
func (d *IntDiffOptRleDecoder) Read() (int64, error) {
	if d.count == 0 {
		if d.d.Remaining() == 0 {
			return 0, eofAt(d.d.pos, "column exhausted")
		}
		// A run holds diff·2 + flag, and a diff between two safe integers reaches ±(2^53−1),
		// so the var-int may be as large as 2^54−1 (Yjs writes and reads such runs).
		m, neg, err := d.d.readVarInt(2*maxSafeInteger+1, "var-int above 2^54-1 in a difference column")
		if err != nil {
			return 0, err
		}
		v := int64(m) // m ≤ 2^54−1
		if neg {
			v = -v
		}
		d.diff = v >> 1 // floor(v/2)
		d.count = 1
		if v&1 != 0 {
			c, err := d.d.ReadVarUint()
			if err != nil {
				return 0, err
			}
			d.count = c + 2
		}
	}
	s := d.s + d.diff // both within ±2^53, so no overflow
	if s > maxSafeInteger || s < -maxSafeInteger {
		return 0, malformedAt(d.d.pos, "column value outside the safe integer range")
	}
	d.s = s
	d.count--
	return s, nil
}

// StringEncoder writes a column of strings: all strings joined and written as one var-string,
// followed (with no prefix) by a UintOptRle column of each string's length in UTF-16 code
// units. The zero value is ready to use.
type StringEncoder struct {
	joined    []byte // UTF-8, possibly holding encoded surrogates
	surrogate bool   // joined holds an encoded surrogate or invalid byte
	lens      UintOptRleEncoder
}

// Write appends s to the column. Its length is counted in UTF-16 code units (UTF16Len).
func (e *StringEncoder) Write(s string) {
	e.joined = append(e.joined, s...)
	n := 0
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			n++
			i++
			continue
		}
		r, size, sur := decodeWTF8(s, i)
		if size == 1 || sur {
			e.surrogate = true // invalid byte or encoded surrogate: fix up in Bytes
		}
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	e.lens.Write(uint64(n))
}

// WriteUTF16 appends the string given as UTF-16 code units. Halves of a surrogate pair may be
// written as separate strings: the joined text pairs them again, as the JavaScript encoder does.
func (e *StringEncoder) WriteUTF16(u []uint16) {
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		if c >= 0xd800 && c < 0xe000 {
			if c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000 {
				e.joined = appendRune(e.joined, 0x10000+(c-0xd800)<<10+rune(u[i+1])-0xdc00)
				i++
				continue
			}
			e.joined = append(e.joined, 0xed, byte(0x80|(c>>6)&0x3f), byte(0x80|c&0x3f))
			e.surrogate = true
			continue
		}
		e.joined = appendRune(e.joined, c)
	}
	e.lens.Write(uint64(len(u)))
}

// Bytes returns the encoded column. It does not change the encoder.
func (e *StringEncoder) Bytes() []byte {
	var out Encoder
	lens := e.lens.Bytes()
	if e.surrogate {
		s := string(e.joined)
		n := wellFormedLen(s)
		out.buf = make([]byte, 0, 10+n+len(lens))
		out.buf = appendVarUint(out.buf, uint64(n))
		out.buf = appendWellFormed(out.buf, s)
	} else {
		out.buf = make([]byte, 0, 10+len(e.joined)+len(lens))
		out.buf = appendVarUint(out.buf, uint64(len(e.joined)))
		out.buf = append(out.buf, e.joined...)
	}
	out.buf = append(out.buf, lens...)
	return out.buf
}

// StringDecoder reads a column written by StringEncoder. The joined string is read and checked
// (strict UTF-8) when the decoder is built; each read cuts the next length, in UTF-16 code
// units, from it. Reading past the end of the lengths, or a length beyond the text left, is an
// error.
type StringDecoder struct {
	s    string // joined text
	pos  int    // byte offset of the next unread character in s
	low  uint16 // if not 0: the low surrogate left over from a pair cut in two
	lens UintOptRleDecoder
}

// NewStringDecoder reads the joined string at the start of b and returns a decoder for the
// column.
func NewStringDecoder(b []byte) (*StringDecoder, error) {
	d := NewDecoder(b)
	s, err := d.ReadVarString()
	if err != nil {
		return nil, err
	}
	return &StringDecoder{s: s, lens: UintOptRleDecoder{uintOptRleReader{d: Decoder{buf: d.Rest()}}}}, nil
}

// cut advances over n UTF-16 code units and returns the byte range of whole characters taken,
// plus a leading low surrogate (left over from the previous cut) and a trailing high
// surrogate (a pair cut at the end), each 0 if absent.
func (d *StringDecoder) cut(n uint64) (start, end int, lead, trail uint16, err error) {
	if n > 0 && d.low != 0 {
		lead = d.low
		d.low = 0
		n--
	}
	start = d.pos
	for n > 0 {
		if d.pos >= len(d.s) {
			return 0, 0, 0, 0, malformedAt(d.pos, "string column: length beyond the text")
		}
		c := d.s[d.pos]
		switch {
		case c < 0x80:
			d.pos++
		case c < 0xe0:
			d.pos += 2
		case c < 0xf0:
			d.pos += 3
		default:
			if n == 1 { // the pair is cut: take the high half, keep the low one
				r, size := decodeRuneAt(d.s, d.pos)
				end = d.pos
				d.pos += size
				hi, lo := splitPair(r)
				d.low = lo
				return start, end, lead, hi, nil
			}
			d.pos += 4
			n--
		}
		n--
	}
	return start, d.pos, lead, 0, nil
}

// Read returns the next string. A surrogate pair cut by a length boundary gives U+FFFD for
// each half (use ReadUTF16 to keep the halves).
func (d *StringDecoder) Read() (string, error) {
	n, err := d.lens.Read()
	if err != nil {
		return "", err
	}
	start, end, lead, trail, err := d.cut(n)
	if err != nil {
		return "", err
	}
	if lead == 0 && trail == 0 {
		return d.s[start:end], nil // shares the joined string; no copy
	}
	b := make([]byte, 0, end-start+6)
	if lead != 0 {
		b = appendRune(b, 0xfffd)
	}
	b = append(b, d.s[start:end]...)
	if trail != 0 {
		b = appendRune(b, 0xfffd)
	}
	return string(b), nil
}

// ReadUTF16 returns the next string as UTF-16 code units, keeping the halves of a surrogate
// pair cut by a length boundary.
func (d *StringDecoder) ReadUTF16() ([]uint16, error) {
	n, err := d.lens.Read()
	if err != nil {
		return nil, err
	}
	start, end, lead, trail, err := d.cut(n)
	if err != nil {
		return nil, err
	}
	u := make([]uint16, 0, n)
	if lead != 0 {
		u = append(u, lead)
	}
	u = appendUTF16(u, []byte(d.s[start:end]))
	if trail != 0 {
		u = append(u, trail)
	}
	return u, nil
}
