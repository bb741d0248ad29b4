package lib0_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt/lib0"
)

func TestStringifyJSON_Numbers(t *testing.T) {
	// Expected texts are what JavaScript's String(x) / JSON.stringify(x) give.
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{jsNaN, "null"},
		{math.Inf(1), "null"},
		{math.Inf(-1), "null"},
		{1, "1"},
		{-1.5, "-1.5"},
		{100, "100"},
		{0.1, "0.1"},
		{0.30000000000000004, "0.30000000000000004"},
		{4.35, "4.35"},
		{123.456, "123.456"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{-1e21, "-1e+21"},
		{123456789012345680000, "123456789012345680000"},
		{12345678901234567890123, "1.2345678901234568e+22"},
		{1e100, "1e+100"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{9007199254740991, "9007199254740991"},
		{9007199254740992, "9007199254740992"},
		{1e-6, "0.000001"},
		{1.234e-6, "0.000001234"},
		{1e-7, "1e-7"},
		{1.5e-7, "1.5e-7"},
		{-1.234e-7, "-1.234e-7"},
		{5e-324, "5e-324"},
		{2.2250738585072014e-308, "2.2250738585072014e-308"},
		{0.000123, "0.000123"},
		{1.5, "1.5"},
		{2147483648, "2147483648"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, lib0.StringifyJSON(tc.in))
		})
	}
}

// TestStringifyJSON_NumbersRoundTrip checks random doubles: the text parses back to the same
// value and has the ECMAScript shape (exponent form exactly outside [1e-7, 1e21)).
func TestStringifyJSON_NumbersRoundTrip(t *testing.T) {
	seed := uint64(20261124)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	for range 20000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		s := lib0.StringifyJSON(f)
		g, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, s)
		require.Equal(t, f, g, "%s does not round-trip", s)
		a := math.Abs(f)
		exp := strings.ContainsRune(s, 'e')
		require.Equal(t, a != 0 && (a < 1e-6 || a >= 1e21), exp, "%s (%g)", s, f)
		v, err := lib0.ParseJSON(s)
		require.NoError(t, err)
		require.Equal(t, math.Float64bits(math.Abs(f)), math.Float64bits(math.Abs(v.(float64))))
	}
}

func TestStringifyJSON_Strings(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "abc", `"abc"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls lowercase hex", "\x00\x01\x1f\x0b", `"\u0000\u0001\u001f\u000b"`},
		{"raw ascii", "</script>&'\x7f", "\"</script>&'\x7f\""},
		{"slash raw", "a/b", `"a/b"`},
		{"line separators raw", "\u2028\u2029", "\"\u2028\u2029\""},
		{"non-BMP raw", "😀中", `"😀中"`},
		{"BOM raw", "\ufeff", "\"\ufeff\""},
		{"lone high surrogate", "\xed\xa0\x80", `"\ud800"`},
		{"lone low surrogate", "x\xed\xb8\x80y", `"x\ude00y"`},
		{"surrogates reversed", "\xed\xb0\x80\xed\xa0\x80", `"\udc00\ud800"`},
		{"encoded pair is one character", "\xed\xa0\xbd\xed\xb8\x80", `"😀"`},
		{"invalid byte", "a\xffb", "\"a\ufffdb\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, lib0.StringifyJSON(tc.in))
		})
	}
}

func TestStringifyJSON_Values(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, "null"},
		{"top-level undefined", lib0.Undefined{}, "undefined"},
		{"unsupported top level", func() {}, "undefined"},
		{"bools", []any{true, false}, "[true,false]"},
		{"undefined element", []any{lib0.Undefined{}, 1.0}, "[null,1]"},
		{"undefined members", lib0.Object{{Key: "a", Value: lib0.Undefined{}}, {Key: "b", Value: 1.0}, {Key: "c", Value: lib0.Undefined{}}}, `{"b":1}`},
		{"only undefined member", lib0.Object{{Key: "a", Value: lib0.Undefined{}}}, `{}`},
		{"key order", lib0.Object{{Key: "b", Value: 1.0}, {Key: "10", Value: 2.0}, {Key: "2", Value: 3.0}, {Key: "__proto__", Value: 4.0}, {Key: "01", Value: 5.0}},
			`{"2":3,"10":2,"b":1,"__proto__":4,"01":5}`},
		{"duplicate key", lib0.Object{{Key: "a", Value: 1.0}, {Key: "b", Value: 2.0}, {Key: "a", Value: 3.0}}, `{"a":3,"b":2}`},
		{"escaped key", lib0.Object{{Key: "a\"\n", Value: nil}}, `{"a\"\n":null}`},
		{"bytes as Uint8Array", []byte{1, 255}, `{"0":1,"1":255}`},
		{"empty", []any{[]any{}, lib0.Object{}}, `[[],{}]`},
		{"bigint digits", lib0.BigInt(-12), "-12"},
		{"go ints", []any{int(3), int64(-4), uint64(5), int8(6), float32(0.5)}, "[3,-4,5,6,0.5]"},
		{"go map", map[string]any{"b": 1, "a": "x", "3": nil, "1": true}, `{"1":true,"3":null,"a":"x","b":1}`},
		{"go slices", []string{"a", "b"}, `["a","b"]`},
		{"go int slice", []int{1, 2}, `[1,2]`},
		{"nil pointer", (*int)(nil), "null"},
		{"nested", lib0.Object{{Key: "nested", Value: lib0.Object{{Key: "deep", Value: []any{true, false, lib0.Object{{Key: "x", Value: nil}}}}}}},
			`{"nested":{"deep":[true,false,{"x":null}]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, lib0.StringifyJSON(tc.in))
		})
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"number", "1", 1.0},
		{"negative zero", "-0", math.Copysign(0, -1)},
		{"exponent", "1E+2", 100.0},
		{"overflow", "1e400", math.Inf(1)},
		{"negative overflow", "-1e400", math.Inf(-1)},
		{"underflow", "1e-400", 0.0},
		{"whitespace", " \t\r\n[ 1 , 2 ]\n", []any{1.0, 2.0}},
		{"literals", "[true,false,null]", []any{true, false, nil}},
		{"string escapes", `"\"\\\/\b\f\n\r\t\u0041\u00e9"`, "\"\\/\b\f\n\r\tAé"},
		{"surrogate pair escape", `"\ud83d\ude00"`, "😀"},
		{"uppercase hex", `"\uD83D\uDE00"`, "😀"},
		{"lone high surrogate", `"\ud800"`, "\xed\xa0\x80"},
		{"lone high then char", `"\ud800\u0041"`, "\xed\xa0\x80A"},
		{"lone low surrogate", `"\udc00"`, "\xed\xb0\x80"},
		{"raw unicode", `"中😀\u2028"`, "中😀\u2028"},
		{"proto kept and order", `{"__proto__":1,"b":2,"1":3}`,
			lib0.Object{{Key: "1", Value: 3.0}, {Key: "__proto__", Value: 1.0}, {Key: "b", Value: 2.0}}},
		{"duplicate keys", `{"a":1,"b":2,"a":3}`, lib0.Object{{Key: "a", Value: 3.0}, {Key: "b", Value: 2.0}}},
		{"index keys", `{"b":0,"4294967295":1,"4294967294":2,"01":3,"0":4}`,
			lib0.Object{{Key: "0", Value: 4.0}, {Key: "4294967294", Value: 2.0}, {Key: "b", Value: 0.0}, {Key: "4294967295", Value: 1.0}, {Key: "01", Value: 3.0}}},
		{"empty containers", `{"a":[],"b":{}}`, lib0.Object{{Key: "a", Value: []any{}}, {Key: "b", Value: lib0.Object{}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lib0.ParseJSON(tc.in)
			require.NoError(t, err)
			assert.True(t, sameValue(tc.want, got), "got %#v, want %#v", got, tc.want)
		})
	}
}

func TestParseJSON_Errors(t *testing.T) {
	for _, in := range []string{
		"", " ", "undefined", "NaN", "Infinity", "-", "+1", "01", "1.", ".5", "1e", "1e+", "0x10",
		"[1,]", "[1 2]", "{\"a\":1,}", "{a:1}", "{'a':1}", "{\"a\" 1}", "{\"a\":}", "[", "{", "\"abc",
		"\"a\nb\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "1 2", "[1]]", "tru", "nul", "\u00a01",
		"\ufeff1", "[1,\"\\", "{\"a\":1", "\"\\u",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := lib0.ParseJSON(in)
			assert.ErrorIs(t, err, lib0.ErrMalformed)
		})
	}
}

func TestParseJSON_Depth(t *testing.T) {
	ok := strings.Repeat("[", lib0.MaxDepth) + strings.Repeat("]", lib0.MaxDepth)
	_, err := lib0.ParseJSON(ok)
	require.NoError(t, err)
	deep := strings.Repeat("[", lib0.MaxDepth+1) + strings.Repeat("]", lib0.MaxDepth+1)
	_, err = lib0.ParseJSON(deep)
	assert.ErrorIs(t, err, lib0.ErrMalformed)
	_, err = lib0.ParseJSON(strings.Repeat(`{"a":`, 1_000_000))
	assert.ErrorIs(t, err, lib0.ErrMalformed)
}

func TestJSON_RoundTrip(t *testing.T) {
	for _, in := range []string{
		`{"1":3,"__proto__":1,"b":2}`,
		`[1,-1.5,1e+21,1e-7,5e-324,"\ud800","\ude00x","😀",null,true,{"a":{"b":[]}}]`,
		`"\u0000\u001f\b\f\n\r\t\"\\ \u007f` + "\u2028" + `"`,
		`123456789012345680000`,
	} {
		t.Run(in, func(t *testing.T) {
			v, err := lib0.ParseJSON(in)
			require.NoError(t, err)
			assert.Equal(t, strings.ReplaceAll(in, `\u007f`, "\x7f"), lib0.StringifyJSON(v))
		})
	}
}

func TestLoneSurrogate_ThroughBinary(t *testing.T) {
	v, err := lib0.ParseJSON(`"a\ud83d"`)
	require.NoError(t, err)
	s := v.(string)
	assert.Equal(t, []uint16{'a', 0xd83d}, lib0.UTF16(s))
	assert.Equal(t, 2, lib0.UTF16Len(s))
	var e lib0.Encoder
	e.WriteAny(s) // TextEncoder writes the lone surrogate as U+FFFD
	assert.Equal(t, []byte{0x77, 0x04, 'a', 0xef, 0xbf, 0xbd}, e.Bytes())
}

func TestUTF16Helpers(t *testing.T) {
	tests := []struct {
		name string
		s    string
		u    []uint16
	}{
		{"empty", "", []uint16{}},
		{"ascii", "ab", []uint16{'a', 'b'}},
		{"bmp", "é中", []uint16{0xe9, 0x4e2d}},
		{"pair", "a😀", []uint16{'a', 0xd83d, 0xde00}},
		{"max", "\U0010ffff", []uint16{0xdbff, 0xdfff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.u, lib0.UTF16(tc.s))
			assert.Equal(t, len(tc.u), lib0.UTF16Len(tc.s))
			assert.Equal(t, tc.s, lib0.StringFromUTF16(tc.u))
		})
	}
	assert.Equal(t, "\ufffdx\ufffd\ufffd", lib0.StringFromUTF16([]uint16{0xd800, 'x', 0xdc00, 0xd800}))
	assert.Equal(t, []uint16{0xfffd}, lib0.UTF16("\xff"))
	var e lib0.Encoder
	e.WriteVarStringUTF16([]uint16{0xdc00, 0xd800})
	assert.Equal(t, []byte{6, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd}, e.Bytes())
	e.Reset()
	e.WriteVarString("a\xffb") // an invalid byte stands for U+FFFD
	assert.Equal(t, []byte{5, 'a', 0xef, 0xbf, 0xbd, 'b'}, e.Bytes())
}
