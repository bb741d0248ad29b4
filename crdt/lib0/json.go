package lib0

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// StringifyJSON returns the text JavaScript's JSON.stringify gives for v (SPEC §1.2.4): no
// whitespace; object keys in JavaScript property order; in strings only '"', '\\', U+0000–U+001F
// (as \b \f \n \r \t or lowercase \u00xx) and lone surrogates (lowercase \udxxx) escaped,
// everything else raw (including '<', '>', '&', U+007F, U+2028 and U+2029); numbers in
// ECMAScript Number-to-String form (shortest round-trip digits, exponent form below 1e-6 and
// from 1e21 on, −0 as 0), NaN and ±Infinity as null; an undefined array element as null and an
// undefined object member left out. A []byte is written as JSON.stringify writes a
// Uint8Array: an object with keys "0", "1", ….
//
// It accepts the same values as Encoder.WriteAny. Where JSON.stringify gives no string it
// returns: "undefined" for undefined (and unsupported Go values) at top level, which is how
// Yjs's ContentJSON writes undefined; the decimal digits for a BigInt (JSON.stringify throws);
// containers nested deeper than MaxDepth are treated as undefined. Invalid UTF-8 bytes in
// strings are written as U+FFFD, except an encoded lone surrogate, which is escaped.
func StringifyJSON(v any) string {
	if _, ok := v.(Undefined); ok {
		return "undefined"
	}
	b, ok := appendJSON(nil, v, 0)
	if !ok {
		return "undefined"
	}
	return string(b)
}

// appendJSON appends the JSON text of v. It returns false, appending nothing, if v is
// undefined (JSON.stringify's "no value").
func appendJSON(buf []byte, v any, depth int) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), true
	case Undefined:
		return buf, false
	case bool:
		return strconv.AppendBool(buf, v), true
	case float64:
		return appendJSONNumber(buf, v), true
	case string:
		return appendJSONString(buf, v), true
	case BigInt:
		return strconv.AppendInt(buf, int64(v), 10), true
	case []byte:
		if depth >= MaxDepth {
			return buf, false
		}
		buf = append(buf, '{')
		for i, c := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '"')
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, '"', ':')
			buf = strconv.AppendUint(buf, uint64(c), 10)
		}
		return append(buf, '}'), true
	case []any:
		if depth >= MaxDepth {
			return buf, false
		}
		buf = append(buf, '[')
		for i, x := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var ok bool
			if buf, ok = appendJSON(buf, x, depth+1); !ok {
				buf = append(buf, "null"...)
			}
		}
		return append(buf, ']'), true
	case Object:
		if depth >= MaxDepth {
			return buf, false
		}
		buf = append(buf, '{')
		first := true
		for _, f := range jsOrder(v, false) {
			mark := len(buf)
			if !first {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, f.Key)
			buf = append(buf, ':')
			var ok bool
			if buf, ok = appendJSON(buf, f.Value, depth+1); !ok {
				buf = buf[:mark] // undefined member: left out
				continue
			}
			first = false
		}
		return append(buf, '}'), true
	case int:
		return appendJSONNumber(buf, float64(v)), true
	case int64:
		return appendJSONNumber(buf, float64(v)), true
	case uint64:
		return appendJSONNumber(buf, float64(v)), true
	case float32:
		return appendJSONNumber(buf, float64(v)), true
	}
	if depth >= MaxDepth {
		return buf, false
	}
	return appendJSON(buf, fromGo(v), depth+1) // +1: a self-referencing pointer cannot loop for ever
}

// appendJSONNumber appends f as JSON.stringify writes a number: null for NaN and ±Infinity,
// otherwise ECMAScript Number::toString.
func appendJSONNumber(buf []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(buf, "null"...)
	}
	return appendNumberString(buf, f)
}

// appendNumberString appends the ECMAScript Number::toString(10) of the finite f: with k
// shortest round-trip digits and the decimal point after n of them, plain notation for
// −6 < n ≤ 21 and exponent notation (1e+21, 1.5e-7) otherwise; −0 is "0".
func appendNumberString(buf []byte, f float64) []byte {
	if f == 0 {
		return append(buf, '0')
	}
	if f < 0 {
		buf = append(buf, '-')
		f = -f
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d[.ddd]e±xx
	ePos := 0
	for s[ePos] != 'e' {
		ePos++
	}
	var digits [24]byte
	k := 0
	for _, c := range s[:ePos] {
		if c != '.' {
			digits[k] = c
			k++
		}
	}
	exp := 0
	for _, c := range s[ePos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[ePos+1] == '-' {
		exp = -exp
	}
	n := exp + 1
	switch {
	case k <= n && n <= 21:
		buf = append(buf, digits[:k]...)
		for i := k; i < n; i++ {
			buf = append(buf, '0')
		}
	case 0 < n && n <= 21:
		buf = append(buf, digits[:n]...)
		buf = append(buf, '.')
		buf = append(buf, digits[n:k]...)
	case -6 < n && n <= 0:
		buf = append(buf, '0', '.')
		for i := n; i < 0; i++ {
			buf = append(buf, '0')
		}
		buf = append(buf, digits[:k]...)
	default:
		buf = append(buf, digits[0])
		if k > 1 {
			buf = append(buf, '.')
			buf = append(buf, digits[1:k]...)
		}
		buf = append(buf, 'e')
		if n-1 < 0 {
			buf = append(buf, '-')
			buf = strconv.AppendInt(buf, int64(1-n), 10)
		} else {
			buf = append(buf, '+')
			buf = strconv.AppendInt(buf, int64(n-1), 10)
		}
	}
	return buf
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal the way JSON.stringify quotes it.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\b':
				buf = append(buf, '\\', 'b')
			case c == '\f':
				buf = append(buf, '\\', 'f')
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size, sur := decodeWTF8(s, i)
		switch {
		case sur:
			if p, psize := nextScalar(s, i); p != utf8.RuneError {
				buf = utf8.AppendRune(buf, p) // an encoded pair is one character
				size = psize
			} else {
				buf = append(buf, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
			}
		case r == utf8.RuneError && size == 1:
			buf = utf8.AppendRune(buf, utf8.RuneError)
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

// ParseJSON parses JSON text as JavaScript's JSON.parse does (SPEC §1.2.4) into the value
// model: null as nil, numbers as float64 (overflow gives ±Infinity, "-0" gives −0), strings,
// bool, []any and Object. Objects are in JavaScript property order (array-index keys first, a
// repeated key at its first position with its last value) and, unlike ReadAny, keep a
// "__proto__" key. A \u escape of a lone surrogate is kept in the Go string in its 3-byte
// generalised UTF-8 form, so that StringifyJSON writes it back as the same escape; an escaped
// surrogate pair becomes the character. Whitespace is space, tab, LF and CR only. Syntax
// errors and nesting deeper than MaxDepth are errors wrapping ErrMalformed. The literal
// "undefined" (Yjs's ContentJSON) is not JSON; callers handle it.
func ParseJSON(s string) (any, error) {
	p := jsonParser{s: s}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.fail("json: unexpected text after the value")
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) fail(what string) error {
	if p.i >= len(p.s) {
		return malformedAt(p.i, "json: unexpected end of text")
	}
	return malformedAt(p.i, what)
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if len(p.s)-p.i < len(word) || p.s[p.i:p.i+len(word)] != word {
		return nil, p.fail("json: unexpected token")
	}
	p.i += len(word)
	return v, nil
}

// value parses one value; depth is the number of enclosing containers.
func (p *jsonParser) value(depth int) (any, error) {
	if p.i >= len(p.s) {
		return nil, p.fail("")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, p.fail("json: unexpected token")
}

func (p *jsonParser) array(depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, p.fail("json: nested deeper than MaxDepth")
	}
	p.i++ // [
	a := []any{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return a, nil
	}
	for {
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.fail("")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return a, nil
		default:
			return nil, p.fail("json: expected ',' or ']'")
		}
	}
}

func (p *jsonParser) object(depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, p.fail("json: nested deeper than MaxDepth")
	}
	p.i++ // {
	o := Object{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return o, nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.fail("json: expected a string key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.fail("json: expected ':'")
		}
		p.i++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		o = append(o, Field{k.(string), v})
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.fail("")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return jsOrder(o, false), nil
		default:
			return nil, p.fail("json: expected ',' or '}'")
		}
	}
}

// str parses a string literal; p.s[p.i] is the opening quote.
func (p *jsonParser) str() (any, error) {
	p.i++
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '"' {
			v := p.s[start:p.i]
			p.i++
			return v, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, p.fail("json: control character in string")
		}
		p.i++
	}
	buf := []byte(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return nil, p.fail("json: control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			p.i = len(p.s)
			return nil, p.fail("")
		}
		p.i++
		switch e := p.s[p.i]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4(p.i + 1)
			if !ok {
				return nil, p.fail("json: bad \\u escape")
			}
			p.i += 4
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && p.i+6 < len(p.s) && p.s[p.i+1] == '\\' && p.s[p.i+2] == 'u' {
					if r2, ok := p.hex4(p.i + 3); ok && r2 >= 0xdc00 && r2 < 0xe000 {
						buf = utf8.AppendRune(buf, utf16.DecodeRune(r, r2))
						p.i += 7
						continue
					}
				}
				// Lone surrogate: its 3-byte generalised UTF-8 form.
				buf = append(buf, 0xed, byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
			} else {
				buf = utf8.AppendRune(buf, r)
			}
		default:
			return nil, p.fail("json: bad escape")
		}
		p.i++
	}
	return nil, p.fail("")
}

// hex4 decodes the 4 hex digits at p.s[at:].
func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[at : at+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number parses -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, p.fail("json: bad number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("json: bad number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("json: bad number")
		}
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, malformedAt(start, "json: bad number")
	}
	return f, nil // on ErrRange ParseFloat gives ±Inf or ±0, as JavaScript does
}
