package lib0_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// vectorsPath holds the golden vectors generated with the real Yjs and lib0 (see
// ../testdata/yjs/gen.mjs).
const vectorsPath = "../testdata/yjs/vectors.jsonl"

// jsNaN is the NaN JavaScript produces (math.NaN has other payload bits).
var jsNaN = math.Float64frombits(0x7ff8000000000000)

// lib0Cases returns the raw JSON line of every lib0 case, by name.
func lib0Cases(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open(vectorsPath)
	require.NoError(t, err)
	defer f.Close()
	cases := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var head struct{ Kind, Name string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &head))
		if head.Kind == "lib0" {
			cases[head.Name] = append([]byte(nil), sc.Bytes()...)
		}
	}
	require.NoError(t, sc.Err())
	require.Len(t, cases, 5)
	return cases
}

// decodeTagged converts tagged JSON (vectors README "Format") into the lib0 value model,
// keeping object key order.
func decodeTagged(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := taggedValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after tagged value")
	}
	return v, nil
}

func taggedValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			a := []any{}
			for dec.More() {
				x, err := taggedValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, x)
			}
			_, err := dec.Token() // ]
			return a, err
		case '{':
			o := lib0.Object{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				x, err := taggedValue(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, lib0.Field{Key: k.(string), Value: x})
			}
			if _, err := dec.Token(); err != nil { // }
				return nil, err
			}
			return untag(o)
		}
		return nil, fmt.Errorf("unexpected delimiter %v", t)
	case json.Number:
		return strconv.ParseFloat(string(t), 64)
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// untag turns a one-field object {"$tag": x} into the value it stands for.
func untag(o lib0.Object) (any, error) {
	if len(o) != 1 || len(o[0].Key) == 0 || o[0].Key[0] != '$' {
		return o, nil
	}
	s, _ := o[0].Value.(string)
	switch o[0].Key {
	case "$number":
		switch s {
		case "NaN":
			return jsNaN, nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		case "-0":
			return math.Copysign(0, -1), nil
		}
	case "$bigint":
		v, err := strconv.ParseInt(s, 10, 64)
		return lib0.BigInt(v), err
	case "$bytes":
		return base64.StdEncoding.DecodeString(s)
	case "$undefined":
		return lib0.Undefined{}, nil
	}
	return nil, fmt.Errorf("unknown tag %q", o[0].Key)
}

// sameValue reports whether a and b are the same value of the model: numbers by their bits
// (−0 and NaN payloads distinct), objects with keys in the same order, []byte distinct from
// arrays.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case lib0.Object:
		b, ok := b.(lib0.Object)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].Key != b[i].Key || !sameValue(a[i].Value, b[i].Value) {
				return false
			}
		}
		return true
	case nil, lib0.Undefined, bool, string, lib0.BigInt:
		return a == b
	}
	return false
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

type hexCase struct {
	Value json.RawMessage `json:"value"`
	Hex   string          `json:"hex"`
}

func TestVectors_VarUint(t *testing.T) {
	var c struct{ Values []hexCase }
	require.NoError(t, json.Unmarshal(lib0Cases(t)["lib0_varuint"], &c))
	require.NotEmpty(t, c.Values)
	for _, tc := range c.Values {
		t.Run(string(tc.Value), func(t *testing.T) {
			v, err := strconv.ParseUint(string(tc.Value), 10, 64)
			require.NoError(t, err)
			var e lib0.Encoder
			e.WriteVarUint(v)
			assert.Equal(t, tc.Hex, hex.EncodeToString(e.Bytes()))
			d := lib0.NewDecoder(mustHex(t, tc.Hex))
			got, err := d.ReadVarUint()
			require.NoError(t, err)
			assert.Equal(t, v, got)
			assert.Zero(t, d.Remaining())
		})
	}
}

func TestVectors_VarInt(t *testing.T) {
	var c struct{ Values []hexCase }
	require.NoError(t, json.Unmarshal(lib0Cases(t)["lib0_varint"], &c))
	require.NotEmpty(t, c.Values)
	for _, tc := range c.Values {
		t.Run(string(tc.Value), func(t *testing.T) {
			tv, err := decodeTagged(tc.Value)
			require.NoError(t, err)
			f := tv.(float64)
			mag, neg := uint64(math.Abs(f)), math.Signbit(f)
			var e lib0.Encoder
			e.WriteVarIntSign(mag, neg)
			assert.Equal(t, tc.Hex, hex.EncodeToString(e.Bytes()))
			if !(f == 0 && neg) {
				var e2 lib0.Encoder
				e2.WriteVarInt(int64(f))
				assert.Equal(t, tc.Hex, hex.EncodeToString(e2.Bytes()))
			}
			d := lib0.NewDecoder(mustHex(t, tc.Hex))
			gm, gn, err := d.ReadVarInt()
			require.NoError(t, err)
			assert.Equal(t, mag, gm)
			assert.Equal(t, neg, gn, "sign flag (−0 is distinct from 0)")
			assert.Zero(t, d.Remaining())
		})
	}
}

func TestVectors_VarString(t *testing.T) {
	var c struct {
		Values []struct {
			Value    string `json:"value"`
			UTF16Len int    `json:"utf16_len"`
			Hex      string `json:"hex"`
		}
	}
	require.NoError(t, json.Unmarshal(lib0Cases(t)["lib0_varstring"], &c))
	require.NotEmpty(t, c.Values)
	for _, tc := range c.Values {
		t.Run(tc.Hex, func(t *testing.T) {
			var e lib0.Encoder
			e.WriteVarString(tc.Value)
			assert.Equal(t, tc.Hex, hex.EncodeToString(e.Bytes()))
			var e16 lib0.Encoder
			e16.WriteVarStringUTF16(lib0.UTF16(tc.Value))
			assert.Equal(t, tc.Hex, hex.EncodeToString(e16.Bytes()))
			assert.Equal(t, tc.UTF16Len, lib0.UTF16Len(tc.Value))
			d := lib0.NewDecoder(mustHex(t, tc.Hex))
			s, err := d.ReadVarString()
			require.NoError(t, err)
			assert.Equal(t, tc.Value, s) // the file's lone surrogates already decode as U+FFFD
			d = lib0.NewDecoder(mustHex(t, tc.Hex))
			u, err := d.ReadVarStringUTF16()
			require.NoError(t, err)
			assert.Equal(t, lib0.UTF16(tc.Value), u)
		})
	}
}

func TestVectors_Any(t *testing.T) {
	var c struct {
		Values []struct {
			hexCase
			Keys []string `json:"keys"`
		}
	}
	require.NoError(t, json.Unmarshal(lib0Cases(t)["lib0_any"], &c))
	require.NotEmpty(t, c.Values)
	for _, tc := range c.Values {
		t.Run(tc.Hex, func(t *testing.T) {
			want, err := decodeTagged(tc.Value)
			require.NoError(t, err)
			if tc.Keys != nil {
				o := want.(lib0.Object)
				keys := []string{}
				for _, f := range o {
					keys = append(keys, f.Key)
				}
				require.Equal(t, tc.Keys, keys, "file key order")
			}
			// value -> hex
			var e lib0.Encoder
			e.WriteAny(want)
			assert.Equal(t, tc.Hex, hex.EncodeToString(e.Bytes()))
			// hex -> value -> the same hex
			d := lib0.NewDecoder(mustHex(t, tc.Hex))
			got, err := d.ReadAny()
			require.NoError(t, err)
			assert.Zero(t, d.Remaining())
			assert.True(t, sameValue(want, got), "decoded %#v, want %#v", got, want)
			var e2 lib0.Encoder
			e2.WriteAny(got)
			assert.Equal(t, tc.Hex, hex.EncodeToString(e2.Bytes()))
			// Index keys given out of order (after the others, descending) are written in
			// JavaScript order all the same.
			if o, ok := want.(lib0.Object); ok && len(o) > 1 {
				var idx, other lib0.Object
				for _, f := range o {
					if _, err := strconv.ParseUint(f.Key, 10, 32); err == nil && f.Key[0] != '0' {
						idx = append(lib0.Object{f}, idx...)
					} else {
						other = append(other, f)
					}
				}
				var e3 lib0.Encoder
				e3.WriteAny(append(other, idx...))
				assert.Equal(t, tc.Hex, hex.EncodeToString(e3.Bytes()))
			}
		})
	}
}

func TestVectors_ColumnEncoders(t *testing.T) {
	var c struct {
		Encoders map[string][]struct {
			Input json.RawMessage `json:"input"`
			Hex   string          `json:"hex"`
		}
	}
	require.NoError(t, json.Unmarshal(lib0Cases(t)["lib0_rle_encoders"], &c))
	require.Len(t, c.Encoders, 5)
	for name, cases := range c.Encoders {
		for _, tc := range cases {
			t.Run(name+"/"+string(tc.Input), func(t *testing.T) {
				b := mustHex(t, tc.Hex)
				switch name {
				case "UintOptRleEncoder", "IncUintOptRleEncoder":
					var in []uint64
					require.NoError(t, json.Unmarshal(tc.Input, &in))
					var got []byte
					var read func() (uint64, error)
					if name == "UintOptRleEncoder" {
						var e lib0.UintOptRleEncoder
						for _, v := range in {
							e.Write(v)
						}
						got, read = e.Bytes(), lib0.NewUintOptRleDecoder(b).Read
					} else {
						var e lib0.IncUintOptRleEncoder
						for _, v := range in {
							e.Write(v)
						}
						got, read = e.Bytes(), lib0.NewIncUintOptRleDecoder(b).Read
					}
					assert.Equal(t, tc.Hex, hex.EncodeToString(got))
					for i, want := range in {
						v, err := read()
						require.NoError(t, err, "value %d", i)
						assert.Equal(t, want, v, "value %d", i)
					}
					_, err := read()
					assert.Error(t, err, "reading past the column")
				case "IntDiffOptRleEncoder":
					var in []int64
					require.NoError(t, json.Unmarshal(tc.Input, &in))
					var e lib0.IntDiffOptRleEncoder
					for _, v := range in {
						e.Write(v)
					}
					assert.Equal(t, tc.Hex, hex.EncodeToString(e.Bytes()))
					d := lib0.NewIntDiffOptRleDecoder(b)
					for i, want := range in {
						v, err := d.Read()
						require.NoError(t, err, "value %d", i)
						assert.Equal(t, want, v, "value %d", i)
					}
					_, err := d.Read()
					assert.Error(t, err, "reading past the column")
				case "RleEncoder_uint8":
					var in []byte
					var nums []int
					require.NoError(t, json.Unmarshal(tc.Input, &nums))
					for _, n := range nums {
						in = append(in, byte(n))
					}
					var e lib0.RleEncoder
					for _, v := range in {
						e.Write(v)
					}
					assert.Equal(t, tc.Hex, hex.EncodeToString(e.Bytes()))
					d := lib0.NewRleDecoder(b)
					for i, want := range in {
						v, err := d.Read()
						require.NoError(t, err, "value %d", i)
						assert.Equal(t, want, v, "value %d", i)
					}
					if len(in) > 0 { // the last run lasts for ever
						for range 3 {
							v, err := d.Read()
							require.NoError(t, err)
							assert.Equal(t, in[len(in)-1], v)
						}
					}
				case "StringEncoder":
					var in []string
					require.NoError(t, json.Unmarshal(tc.Input, &in))
					var e, e16 lib0.StringEncoder
					for _, s := range in {
						e.Write(s)
						e16.WriteUTF16(lib0.UTF16(s))
					}
					assert.Equal(t, tc.Hex, hex.EncodeToString(e.Bytes()))
					assert.Equal(t, tc.Hex, hex.EncodeToString(e16.Bytes()))
					d, err := lib0.NewStringDecoder(b)
					require.NoError(t, err)
					d16, err := lib0.NewStringDecoder(b)
					require.NoError(t, err)
					for i, want := range in {
						s, err := d.Read()
						require.NoError(t, err, "value %d", i)
						assert.Equal(t, want, s, "value %d", i)
						u, err := d16.ReadUTF16()
						require.NoError(t, err, "value %d", i)
						assert.Equal(t, lib0.UTF16(want), u, "value %d", i)
					}
					_, err = d.Read()
					assert.Error(t, err, "reading past the column")
				default:
					t.Fatalf("unknown encoder %q", name)
				}
			})
		}
	}
}
