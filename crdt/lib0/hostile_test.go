package lib0_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// readers names each Decoder read that takes a complete value.
var readers = map[string]func(d *lib0.Decoder) error{
	"VarUint":           func(d *lib0.Decoder) error { _, err := d.ReadVarUint(); return err },
	"VarInt":            func(d *lib0.Decoder) error { _, _, err := d.ReadVarInt(); return err },
	"VarString":         func(d *lib0.Decoder) error { _, err := d.ReadVarString(); return err },
	"VarStringUTF16":    func(d *lib0.Decoder) error { _, err := d.ReadVarStringUTF16(); return err },
	"VarUint8Array":     func(d *lib0.Decoder) error { _, err := d.ReadVarUint8Array(); return err },
	"Float32":           func(d *lib0.Decoder) error { _, err := d.ReadFloat32(); return err },
	"Float64":           func(d *lib0.Decoder) error { _, err := d.ReadFloat64(); return err },
	"BigInt64":          func(d *lib0.Decoder) error { _, err := d.ReadBigInt64(); return err },
	"Any":               func(d *lib0.Decoder) error { _, err := d.ReadAny(); return err },
	"Uint8":             func(d *lib0.Decoder) error { _, err := d.ReadUint8(); return err },
	"Raw3":              func(d *lib0.Decoder) error { _, err := d.ReadRaw(3); return err },
	"StringColumnBuild": func(d *lib0.Decoder) error { _, err := lib0.NewStringDecoder(d.Rest()); return err },
}

// TestDecoder_TruncatedAtEveryPrefix encodes values, then reads every proper prefix: each must
// fail with ErrUnexpectedEOF and never panic.
func TestDecoder_TruncatedAtEveryPrefix(t *testing.T) {
	var e lib0.Encoder
	values := map[string]func(){
		"VarUint":        func() { e.WriteVarUint(1<<53 - 1) },
		"VarInt":         func() { e.WriteVarInt(-(1<<53 - 1)) },
		"VarString":      func() { e.WriteVarString("a😀b中") },
		"VarStringUTF16": func() { e.WriteVarString("a😀b中") },
		"VarUint8Array":  func() { e.WriteVarUint8Array([]byte{1, 2, 3, 4}) },
		"Float32":        func() { e.WriteFloat32(1.5) },
		"Float64":        func() { e.WriteFloat64(1.1) },
		"BigInt64":       func() { e.WriteBigInt64(-2) },
		"Any": func() {
			e.WriteAny(lib0.Object{{Key: "a", Value: []any{1.0, 1.1, 0.5, "x", []byte{9}, nil, true,
				lib0.Undefined{}, lib0.BigInt(7), lib0.Object{{Key: "1", Value: false}}}}})
		},
		"Uint8":             func() { e.WriteUint8(1) },
		"Raw3":              func() { e.WriteRaw([]byte{1, 2, 3}) },
		"StringColumnBuild": func() { e.WriteVarString("hello") },
	}
	for name, write := range values {
		t.Run(name, func(t *testing.T) {
			e.Reset()
			write()
			full := append([]byte(nil), e.Bytes()...)
			require.NoError(t, readers[name](lib0.NewDecoder(full)))
			for n := 0; n < len(full); n++ {
				err := readers[name](lib0.NewDecoder(full[:n]))
				assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF, "prefix of %d bytes", n)
			}
		})
	}
}

func TestDecoder_Hostile(t *testing.T) {
	tests := []struct {
		name   string
		read   string
		in     string // hex
		errIs  error  // nil: must succeed
		remain int
	}{
		{"varuint 9 bytes non-minimal", "VarUint", "808080808080808000", nil, 0},
		{"varuint non-minimal zero", "VarUint", "8000", nil, 0},
		{"varuint 2^53-1", "VarUint", "ffffffffffffff0f", nil, 0},
		{"varuint 2^53", "VarUint", "8080808080808010", lib0.ErrMalformed, 0},
		{"varuint 9-byte above 2^53-1", "VarUint", "ffffffffffffffff7f", lib0.ErrMalformed, 0},
		{"varuint 10 bytes", "VarUint", "80808080808080808001", lib0.ErrMalformed, 0},
		{"varuint 10 bytes of ff", "VarUint", "ffffffffffffffffffff", lib0.ErrMalformed, 0},
		{"varint -0 non-minimal", "VarInt", "c000", nil, 0},
		{"varint ±(2^53-1)", "VarInt", "ffffffffffffff1f", nil, 0},
		{"varint 2^53", "VarInt", "8080808080808020", lib0.ErrMalformed, 0},
		{"varint 10 bytes", "VarInt", "80808080808080808001", lib0.ErrMalformed, 0},
		{"varint empty", "VarInt", "", lib0.ErrUnexpectedEOF, 0},
		{"string longer than input", "VarString", "056162", lib0.ErrUnexpectedEOF, 0},
		{"string length 2^53-1", "VarString", "ffffffffffffff0f61", lib0.ErrUnexpectedEOF, 0},
		{"string overlong", "VarString", "02c0af", lib0.ErrMalformed, 0},
		{"string encoded surrogate", "VarString", "03eda080", lib0.ErrMalformed, 0},
		{"string stray ff", "VarString", "01ff", lib0.ErrMalformed, 0},
		{"string truncated sequence", "VarString", "02e4b8", lib0.ErrMalformed, 0},
		{"string utf16 invalid", "VarStringUTF16", "01ff", lib0.ErrMalformed, 0},
		{"string BOM kept", "VarString", "03efbbbf", nil, 0},
		{"bytes longer than input", "VarUint8Array", "0a0102", lib0.ErrUnexpectedEOF, 0},
		{"bytes huge length", "VarUint8Array", "ffffffffffffff0f", lib0.ErrUnexpectedEOF, 0},
		{"bytes too long varuint", "VarUint8Array", "80808080808080808001", lib0.ErrMalformed, 0},
		{"any empty", "Any", "", lib0.ErrUnexpectedEOF, 0},
		{"any tag 0", "Any", "00", lib0.ErrMalformed, 0},
		{"any tag 115", "Any", "73", lib0.ErrMalformed, 0},
		{"any tag 128", "Any", "80", lib0.ErrMalformed, 0},
		{"any tag 255", "Any", "ff", lib0.ErrMalformed, 0},
		{"any unknown tag nested", "Any", "750200", lib0.ErrMalformed, 0},
		{"any string invalid utf8", "Any", "7701ff", lib0.ErrMalformed, 0},
		{"any key invalid utf8", "Any", "760101ff7e", lib0.ErrMalformed, 0},
		{"any string longer than input", "Any", "770561", lib0.ErrUnexpectedEOF, 0},
		{"any bytes longer than input", "Any", "740561", lib0.ErrUnexpectedEOF, 0},
		{"any int above 2^53-1", "Any", "7d8080808080808020", lib0.ErrMalformed, 0},
		{"any array count above 2^53-1", "Any", "758080808080808010", lib0.ErrMalformed, 0},
		{"any huge array count", "Any", "75ffffffffffffff0f7e7e", lib0.ErrUnexpectedEOF, 0},
		{"any huge object count", "Any", "76ffffffffffffff0f01617e", lib0.ErrUnexpectedEOF, 0},
		{"trailing bytes are left", "Any", "7e0102", nil, 2},
		{"string column empty", "StringColumnBuild", "", lib0.ErrUnexpectedEOF, 0},
		{"string column invalid utf8", "StringColumnBuild", "01ff", lib0.ErrMalformed, 0},
		{"string column too long", "StringColumnBuild", "0561", lib0.ErrUnexpectedEOF, 0},
		{"raw longer than input", "Raw3", "01", lib0.ErrUnexpectedEOF, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := hex.DecodeString(tc.in)
			require.NoError(t, err)
			d := lib0.NewDecoder(in)
			err = readers[tc.read](d)
			if tc.errIs == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.remain, d.Remaining())
				return
			}
			assert.ErrorIs(t, err, tc.errIs)
			assert.True(t, strings.HasPrefix(err.Error(), "lib0: "), "error %q has the package prefix", err)
		})
	}
}

func TestDecoder_ReadRawNegative(t *testing.T) {
	_, err := lib0.NewDecoder([]byte{1, 2}).ReadRaw(-1)
	assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
}

func TestDecoder_ReadVarUint8Array_SubSlice(t *testing.T) {
	in := []byte{3, 1, 2, 3, 9}
	d := lib0.NewDecoder(in)
	b, err := d.ReadVarUint8Array()
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3}, b)
	assert.Same(t, &in[1], &b[0], "no copy")
	assert.Equal(t, 3, cap(b), "capacity clipped so appends cannot overwrite the input")
	assert.Equal(t, []byte{9}, d.Rest())
	assert.Equal(t, 4, d.Pos())
}

func nested(open string, depth int, leaf string) []byte {
	var b bytes.Buffer
	for range depth {
		b.WriteString(open)
	}
	b.WriteString(leaf)
	out, err := hex.DecodeString(b.String())
	if err != nil {
		panic(err)
	}
	return out
}

func TestReadAny_Depth(t *testing.T) {
	for _, open := range []string{"7501", "76010161"} { // [x], {a: x}
		t.Run(open, func(t *testing.T) {
			_, err := lib0.NewDecoder(nested(open, lib0.MaxDepth, "7e")).ReadAny()
			require.NoError(t, err, "MaxDepth levels are accepted")
			_, err = lib0.NewDecoder(nested(open, lib0.MaxDepth+1, "7e")).ReadAny()
			assert.ErrorIs(t, err, lib0.ErrMalformed)
			_, err = lib0.NewDecoder(nested(open, 1_000_000, "7e")).ReadAny()
			assert.ErrorIs(t, err, lib0.ErrMalformed)
		})
	}
}

func TestWriteAny_DeeperThanMaxDepthIsUndefined(t *testing.T) {
	var v any = "leaf"
	for range lib0.MaxDepth + 1 {
		v = []any{v}
	}
	var e lib0.Encoder
	e.WriteAny(v)
	want := append(nested("7501", lib0.MaxDepth, "7f"), []byte{}...)
	assert.Equal(t, want, e.Bytes())
	_, err := lib0.NewDecoder(e.Bytes()).ReadAny()
	assert.NoError(t, err, "what WriteAny writes, ReadAny reads")
}

// allocatedBytes returns how many bytes f allocates.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestReadAny_HugeCountsDoNotAllocate(t *testing.T) {
	inputs := map[string]string{
		"array":        "75ffffffffffffff0f7e7e7e",
		"object":       "76ffffffffffffff0f01617e",
		"nested array": "7501" + "75ffffffffffffff0f" + "7501" + "75ffffffffffffff0f7e",
	}
	for name, h := range inputs {
		t.Run(name, func(t *testing.T) {
			in, err := hex.DecodeString(h)
			require.NoError(t, err)
			var rerr error
			n := allocatedBytes(func() { _, rerr = lib0.NewDecoder(in).ReadAny() })
			assert.ErrorIs(t, rerr, lib0.ErrUnexpectedEOF)
			assert.Less(t, n, uint64(64<<10), "bytes allocated for a %d-byte input", len(in))
		})
	}
}

// TestReadAny_NestedHugeCountsDoNotAllocate nests MaxDepth arrays that each claim 2^53−1
// elements: the reservations along the open path must stay small.
func TestReadAny_NestedHugeCountsDoNotAllocate(t *testing.T) {
	in := nested("75ffffffffffffff0f", lib0.MaxDepth, "7e")
	var err error
	n := allocatedBytes(func() { _, err = lib0.NewDecoder(in).ReadAny() })
	assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	assert.Less(t, n, uint64(16<<20), "bytes allocated for a %d-byte input", len(in))
	in = nested("76ffffffffffffff0f0161", lib0.MaxDepth, "7e")
	n = allocatedBytes(func() { _, err = lib0.NewDecoder(in).ReadAny() })
	assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	assert.Less(t, n, uint64(16<<20), "bytes allocated for a %d-byte input", len(in))
}

func TestWriteAny_CyclicGoValueTerminates(t *testing.T) {
	var p any
	p = &p
	var e lib0.Encoder
	e.WriteAny(p)
	assert.Equal(t, []byte{0x7f}, e.Bytes())
	assert.Equal(t, "undefined", lib0.StringifyJSON(p))
}

func TestColumns_HugeRunsAreNotExpanded(t *testing.T) {
	in, err := hex.DecodeString("45ffffffffffffff0f") // 5, repeated 2^53+1 times
	require.NoError(t, err)
	d := lib0.NewUintOptRleDecoder(in)
	allocs := testing.AllocsPerRun(100, func() {
		v, err := d.Read()
		if err != nil || v != 5 {
			t.Fatalf("Read = %d, %v", v, err)
		}
	})
	assert.Zero(t, allocs)
}

func TestDecoder_NoAllocations(t *testing.T) {
	var e lib0.Encoder
	for i := range 100 {
		e.WriteVarUint(uint64(i) << 30)
		e.WriteVarInt(-int64(i))
		e.WriteVarUint8Array([]byte("bytes"))
	}
	in := e.Bytes()
	allocs := testing.AllocsPerRun(50, func() {
		d := lib0.NewDecoder(in)
		for d.Remaining() > 0 {
			if _, err := d.ReadVarUint(); err != nil {
				t.Fatal(err)
			}
			if _, _, err := d.ReadVarInt(); err != nil {
				t.Fatal(err)
			}
			if _, err := d.ReadVarUint8Array(); err != nil {
				t.Fatal(err)
			}
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "at most the Decoder itself")
}

func TestColumns_Exhausted(t *testing.T) {
	t.Run("UintOptRle", func(t *testing.T) {
		d := lib0.NewUintOptRleDecoder([]byte{0x45, 0x00}) // 5, 5
		for range 2 {
			v, err := d.Read()
			require.NoError(t, err)
			assert.Equal(t, uint64(5), v)
		}
		_, err := d.Read()
		assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
		_, err = lib0.NewUintOptRleDecoder(nil).Read()
		assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
		_, err = lib0.NewUintOptRleDecoder([]byte{0x45}).Read() // run count missing
		assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	})
	t.Run("IncUintOptRle above 2^53-1", func(t *testing.T) {
		var e lib0.Encoder
		e.WriteVarIntSign(1<<53-1, true)
		e.WriteVarUint(0) // run of 2: 2^53-1, 2^53
		d := lib0.NewIncUintOptRleDecoder(e.Bytes())
		v, err := d.Read()
		require.NoError(t, err)
		assert.Equal(t, uint64(1<<53-1), v)
		_, err = d.Read()
		assert.ErrorIs(t, err, lib0.ErrMalformed)
	})
	t.Run("IntDiffOptRle", func(t *testing.T) {
		_, err := lib0.NewIntDiffOptRleDecoder(nil).Read()
		assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
		// diff 2^52−1 repeated 2^40+2 times leaves the safe range at the third value.
		var e2 lib0.Encoder
		e2.WriteVarIntSign(1<<53-1, false) // odd: diff floor((2^53-1)/2) = 2^52-1, count follows
		e2.WriteVarUint(1 << 40)
		d := lib0.NewIntDiffOptRleDecoder(e2.Bytes())
		var err2 error
		for i := 0; i < 10 && err2 == nil; i++ {
			_, err2 = d.Read()
		}
		assert.ErrorIs(t, err2, lib0.ErrMalformed)
	})
	t.Run("Rle empty", func(t *testing.T) {
		_, err := lib0.NewRleDecoder(nil).Read()
		assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	})
	t.Run("Rle truncated count", func(t *testing.T) {
		d := lib0.NewRleDecoder([]byte{4, 0x80})
		_, err := d.Read()
		assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	})
	t.Run("String lengths exhausted", func(t *testing.T) {
		d, err := lib0.NewStringDecoder([]byte{2, 'a', 'b', 2})
		require.NoError(t, err)
		s, err := d.Read()
		require.NoError(t, err)
		assert.Equal(t, "ab", s)
		_, err = d.Read()
		assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	})
	t.Run("String length beyond text", func(t *testing.T) {
		d, err := lib0.NewStringDecoder([]byte{2, 'a', 'b', 3})
		require.NoError(t, err)
		_, err = d.Read()
		assert.ErrorIs(t, err, lib0.ErrMalformed)
		d, err = lib0.NewStringDecoder([]byte{2, 'a', 'b', 3})
		require.NoError(t, err)
		_, err = d.ReadUTF16()
		assert.ErrorIs(t, err, lib0.ErrMalformed)
	})
	t.Run("String huge length", func(t *testing.T) {
		var e lib0.Encoder
		e.WriteVarString("ab")
		e.WriteVarIntSign(1<<53-1, false)
		d, err := lib0.NewStringDecoder(e.Bytes())
		require.NoError(t, err)
		var rerr error
		n := allocatedBytes(func() { _, rerr = d.ReadUTF16() })
		assert.ErrorIs(t, rerr, lib0.ErrMalformed)
		assert.Less(t, n, uint64(64<<10))
	})
}

func TestErrors_AreDistinct(t *testing.T) {
	assert.False(t, errors.Is(lib0.ErrMalformed, lib0.ErrUnexpectedEOF))
}
