package lib0_test

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// TestWriteAny_NumberTags checks the tag chosen for each number (SPEC §1.2.1).
func TestWriteAny_NumberTags(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{2147483647.0, "7dbfffffff0f"},
		{-2147483647.0, "7dffffffff0f"},
		{-2147483648.0, "7ccf000000"},
		{2147483648.0, "7c4f000000"},
		{2147483649.0, "7b41e0000000200000"},
		{4294967295.0, "7b41efffffffe00000"},
		{math.Ldexp(1, 40), "7c53800000"},
		{math.Ldexp(1, 53), "7c5a000000"},
		{float64(1<<53 - 1), "7b433fffffffffffff"},
		{16777217.0, "7d81808010"},
		{0.5, "7c3f000000"},
		{100.5, "7c42c90000"},
		{1.1, "7b3ff199999999999a"},
		{3.4028234663852886e38, "7c7f7fffff"},
		{3.4028235677973366e38, "7b47effffff0000000"},
		{math.Ldexp(1, -149), "7c00000001"},
		{math.Ldexp(1, -150), "7b3690000000000000"},
		{jsNaN, "7b7ff8000000000000"},
		{math.Float64frombits(0x7ff8000000000001), "7b7ff8000000000001"},
		{math.Inf(1), "7c7f800000"},
		{math.Inf(-1), "7cff800000"},
		{math.Copysign(0, -1), "7d40"},
		{lib0.BigInt(10), "7a000000000000000a"},
		{int(-5), "7d45"},
		{uint64(1 << 40), "7c53800000"},
		{float32(1.5), "7c3fc00000"},
		{int32(7), "7d07"},
		{map[string]any{"b": 1, "a": 2, "10": 3, "9": 4}, "760401397d040231307d0301617d0201627d01"},
		{[]int{1}, "75017d01"},
		{struct{}{}, "7f"},
		{[2]byte{1, 2}, "74020102"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			var e lib0.Encoder
			e.WriteAny(tc.in)
			assert.Equal(t, tc.want, hex.EncodeToString(e.Bytes()))
		})
	}
}

// TestReadAny_Normalises checks that decoding keeps only what JavaScript keeps (SPEC §1.2.2,
// §1.2.3): re-encoding gives what Yjs would write.
func TestReadAny_Normalises(t *testing.T) {
	tests := []struct {
		name, in, out string
	}{
		{"float64 1.5 becomes float32", "7b3ff8000000000000", "7c3fc00000"},
		{"float64 2.0 becomes integer", "7b4000000000000000", "7d02"},
		{"float32 -0 becomes integer -0", "7c80000000", "7d40"},
		{"var-int 2^52 becomes float32", "7d8080808080808010", "7c59800000"},
		{"non-minimal -0", "7dc000", "7d40"},
		{"NaN payload kept", "7b7ff8000000000001", "7b7ff8000000000001"},
		{"float32 NaN widened", "7c7fc00001", "7b7ff8000020000000"},
		{"index keys first", "760201627d0101327d02", "760201327d020162" + "7d01"},
		{"duplicate key: first position, last value", "7603" + "01617d01" + "01627d02" + "01617d03", "7602" + "01617d03" + "01627d02"},
		{"__proto__ dropped", "7601095f5f70726f746f5f5f" + "76010178" + "7d01", "7600"},
		{"__proto__ dropped, others kept", "7602095f5f70726f746f5f5f" + "7d01" + "01617d02", "7601" + "01617d02"},
		{"bytes stay bytes", "740101", "740101"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := lib0.NewDecoder(mustHex(t, tc.in))
			v, err := d.ReadAny()
			require.NoError(t, err)
			assert.Zero(t, d.Remaining())
			var e lib0.Encoder
			e.WriteAny(v)
			assert.Equal(t, tc.out, hex.EncodeToString(e.Bytes()))
		})
	}
}

func TestReadAny_BytesAreCopied(t *testing.T) {
	in := []byte{0x74, 0x01, 0x05}
	v, err := lib0.NewDecoder(in).ReadAny()
	require.NoError(t, err)
	in[2] = 9
	assert.Equal(t, []byte{5}, v)
}

func TestObject_Get(t *testing.T) {
	o := lib0.Object{{Key: "a", Value: 1.0}, {Key: "b", Value: nil}}
	v, ok := o.Get("b")
	assert.True(t, ok)
	assert.Nil(t, v)
	_, ok = o.Get("c")
	assert.False(t, ok)
}

func TestStringDecoder_SplitPair(t *testing.T) {
	// "a😀b" cut as ["a\ud83d", "\ude00b"], as a Yjs string column may hold after a split.
	var e lib0.StringEncoder
	e.WriteUTF16([]uint16{'a', 0xd83d})
	e.WriteUTF16([]uint16{0xde00, 'b'})
	b := e.Bytes()
	assert.Equal(t, "0661f09f98806242"+"00", hex.EncodeToString(b), "the joined text pairs the halves again")
	d, err := lib0.NewStringDecoder(b)
	require.NoError(t, err)
	u, err := d.ReadUTF16()
	require.NoError(t, err)
	assert.Equal(t, []uint16{'a', 0xd83d}, u)
	u, err = d.ReadUTF16()
	require.NoError(t, err)
	assert.Equal(t, []uint16{0xde00, 'b'}, u)

	d, err = lib0.NewStringDecoder(b)
	require.NoError(t, err)
	s, err := d.Read()
	require.NoError(t, err)
	assert.Equal(t, "a\ufffd", s)
	s, err = d.Read()
	require.NoError(t, err)
	assert.Equal(t, "\ufffdb", s)
}

func TestStringEncoder_LoneSurrogate(t *testing.T) {
	var e lib0.StringEncoder
	e.WriteUTF16([]uint16{0xd800})
	e.Write("x")
	assert.Equal(t, "04efbfbd78"+"4100", hex.EncodeToString(e.Bytes()))
}

func TestColumnEncoders_BytesDoesNotChangeState(t *testing.T) {
	var u lib0.UintOptRleEncoder
	u.Write(5)
	_ = u.Bytes()
	u.Write(5)
	assert.Equal(t, "4500", hex.EncodeToString(u.Bytes()))
	var d lib0.IntDiffOptRleEncoder
	d.Write(1)
	_ = d.Bytes()
	d.Write(2)
	assert.Equal(t, "0300", hex.EncodeToString(d.Bytes()))
}
