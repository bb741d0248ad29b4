package lib0

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Yjs counts positions and lengths in UTF-16 code units, and a JavaScript string may hold a
// lone surrogate, which valid UTF-8 cannot. This package represents such a unit inside a Go
// string by its 3-byte generalised UTF-8 form (ED A0..BF 80..BF, as in WTF-8); ParseJSON
// produces it for a lone-surrogate escape, StringifyJSON escapes it again, UTF16 maps it back
// to its code unit and the binary writers turn it into U+FFFD like TextEncoder. Any other
// invalid byte in a Go string stands for U+FFFD.

// decodeWTF8 decodes the character of s at i. It returns the rune (or the surrogate code unit,
// with surrogate set) and its length in bytes; an invalid byte decodes as U+FFFD of length 1.
func decodeWTF8(s string, i int) (r rune, size int, surrogate bool) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1, false
	}
	r, size = utf8.DecodeRuneInString(s[i:])
	if size > 1 || r != utf8.RuneError {
		return r, size, false
	}
	if c == 0xed && i+2 < len(s) && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2] >= 0x80 && s[i+2] <= 0xbf {
		return 0xd000 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f), 3, true
	}
	return utf8.RuneError, 1, false
}

// nextScalar decodes the character of s at i as TextEncoder sees it: a surrogate pair written
// as two 3-byte forms becomes one rune, and a lone surrogate becomes U+FFFD.
func nextScalar(s string, i int) (rune, int) {
	r, size, sur := decodeWTF8(s, i)
	if !sur {
		return r, size
	}
	if r < 0xdc00 && i+size < len(s) {
		r2, size2, sur2 := decodeWTF8(s, i+size)
		if sur2 && r2 >= 0xdc00 {
			return utf16.DecodeRune(r, r2), size + size2
		}
	}
	return utf8.RuneError, size
}

// wellFormedLen returns the UTF-8 length of appendWellFormed(nil, s).
func wellFormedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := nextScalar(s, i)
		n += utf8.RuneLen(r)
		i += size
	}
	return n
}

// appendWellFormed appends s to buf as valid UTF-8 (see nextScalar).
func appendWellFormed(buf []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := nextScalar(s, i)
		buf = utf8.AppendRune(buf, r)
		i += size
	}
	return buf
}

// UTF16 returns s as UTF-16 code units. An encoded lone surrogate (see the package notes)
// becomes its code unit; any other invalid byte becomes U+FFFD.
func UTF16(s string) []uint16 {
	u := make([]uint16, 0, UTF16Len(s))
	for i := 0; i < len(s); {
		r, size, _ := decodeWTF8(s, i)
		i += size
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			u = append(u, uint16(r1), uint16(r2))
		} else {
			u = append(u, uint16(r))
		}
	}
	return u
}

// UTF16Len returns the length of s in UTF-16 code units, the JavaScript string length.
func UTF16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size, _ := decodeWTF8(s, i)
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// StringFromUTF16 returns the UTF-16 code units u as a Go string. Each lone surrogate becomes
// U+FFFD.
func StringFromUTF16(u []uint16) string {
	return string(appendUTF16AsUTF8(make([]byte, 0, utf8LenOfUTF16(u)), u))
}

// utf8LenOfUTF16 returns the UTF-8 length of u with lone surrogates as U+FFFD.
func utf8LenOfUTF16(u []uint16) int {
	n := 0
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c < 0x80:
			n++
		case c < 0x800:
			n += 2
		case c >= 0xd800 && c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000:
			n += 4
			i++
		default: // BMP character or lone surrogate (U+FFFD is 3 bytes too)
			n += 3
		}
	}
	return n
}

// appendUTF16AsUTF8 appends u to buf as UTF-8, lone surrogates as U+FFFD.
func appendUTF16AsUTF8(buf []byte, u []uint16) []byte {
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		if c < utf8.RuneSelf {
			buf = append(buf, byte(c))
			continue
		}
		if utf16.IsSurrogate(c) {
			if c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000 {
				c = utf16.DecodeRune(c, rune(u[i+1]))
				i++
			} else {
				c = utf8.RuneError
			}
		}
		buf = utf8.AppendRune(buf, c)
	}
	return buf
}

// utf16LenValid returns the UTF-16 length of the valid UTF-8 b: one unit per leading byte,
// two for each 4-byte sequence.
func utf16LenValid(b []byte) int {
	n := 0
	for _, c := range b {
		if c&0xc0 != 0x80 {
			n++
			if c >= 0xf0 {
				n++
			}
		}
	}
	return n
}

// appendUTF16 appends the valid UTF-8 b to u as UTF-16 code units.
func appendUTF16(u []uint16, b []byte) []uint16 {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			u = append(u, uint16(b[i]))
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			u = append(u, uint16(r1), uint16(r2))
		} else {
			u = append(u, uint16(r))
		}
	}
	return u
}

func appendRune(b []byte, r rune) []byte { return utf8.AppendRune(b, r) }

func decodeRuneAt(s string, i int) (rune, int) { return utf8.DecodeRuneInString(s[i:]) }

// splitPair returns the UTF-16 surrogate pair of a rune above U+FFFF.
func splitPair(r rune) (hi, lo uint16) {
	h, l := utf16.EncodeRune(r)
	return uint16(h), uint16(l)
}
