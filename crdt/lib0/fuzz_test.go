package lib0_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// FuzzReadAny checks that ReadAny never panics and that what it reads re-encodes to bytes that
// read back to the same value and the same bytes.
func FuzzReadAny(f *testing.F) {
	for _, s := range []string{"7e", "75047d01770374776f7e75017d03", "760201627d0101327d02", "7c7fc00001", "7404000102ff",
		"7603" + "01617d01" + "01627d02" + "01617d03", "75ffffffffffffff0f7e"} {
		f.Add(mustHexF(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := lib0.NewDecoder(in).ReadAny()
		if err != nil {
			return
		}
		var e lib0.Encoder
		e.WriteAny(v)
		first := append([]byte(nil), e.Bytes()...)
		v2, err := lib0.NewDecoder(first).ReadAny()
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		if !sameValue(v, v2) {
			t.Fatalf("value changed: %#v then %#v", v, v2)
		}
		e.Reset()
		e.WriteAny(v2)
		if !bytes.Equal(first, e.Bytes()) {
			t.Fatalf("encoding not stable: %x then %x", first, e.Bytes())
		}
	})
}

// FuzzParseJSON checks that ParseJSON accepts exactly the valid JSON texts (as encoding/json
// judges valid UTF-8 input) and that StringifyJSON's output parses back to the same text.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"__proto__":1,"b":2,"1":3}`, `[1,-0,1e21,"\ud800",null]`, `"\u2028"`, " 1 ", "01", `{"a":[{}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := lib0.ParseJSON(in)
		if utf8.ValidString(in) && (err == nil) != json.Valid([]byte(in)) {
			t.Fatalf("ParseJSON error %v, json.Valid %v", err, json.Valid([]byte(in)))
		}
		if err != nil {
			return
		}
		s := lib0.StringifyJSON(v)
		v2, err := lib0.ParseJSON(s)
		if err != nil {
			t.Fatalf("StringifyJSON output %q does not parse: %v", s, err)
		}
		if s2 := lib0.StringifyJSON(v2); s2 != s {
			t.Fatalf("not stable: %q then %q", s, s2)
		}
	})
}

func mustHexF(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return b
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
