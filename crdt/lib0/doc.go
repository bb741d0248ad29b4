// Package lib0 implements the binary encoding of the JavaScript library lib0 (version 0.2.x),
// as Yjs uses it on the wire: var-uints, sign-and-magnitude var-ints, var-strings, byte arrays,
// fixed-width numbers, the tagged `any` value encoding, JSON text exactly as JavaScript's
// JSON.stringify and JSON.parse, and the run-length column codecs of Yjs update format v2.
// Tandem's SPEC.md §1.1–1.3 describes the bytes; the public sources are dmonad/lib0:
// encoding.js and decoding.js.
//
// # Model
//
// An Encoder appends to one growing buffer; a Decoder reads one byte slice front to back and
// bounds-checks every read. Values of the `any` encoding and of JSON are plain Go values: nil
// (null), Undefined, bool, float64 (every JavaScript number), BigInt, string, []byte
// (Uint8Array), []any and Object (an ordered list of fields). Objects always carry keys in
// JavaScript property order: canonical array-index keys ascending, then the others in insertion
// order. Numbers keep only their float64 value; the wire tag is chosen again on every write,
// exactly as lib0 does, so decoding and re-encoding reproduces what Yjs writes. Integers on the
// wire are unsigned 64-bit values limited to 2^53−1, the JavaScript safe range.
//
// Positions and lengths in Yjs count UTF-16 code units; UTF16, UTF16Len and StringFromUTF16
// convert. A lone surrogate, which valid UTF-8 cannot hold, is carried inside a Go string in
// its 3-byte generalised UTF-8 form (see ParseJSON and StringifyJSON).
//
// # Concurrency
//
// Encoders, decoders and column codecs are not safe for concurrent use; the package has no
// global mutable state, so distinct values may be used from different goroutines.
//
// # Caveats
//
// Peer input is hostile. Readers never panic on it, check every length prefix against the
// remaining input before allocating, never preallocate from a claimed count, keep runs as
// (value, count) without expanding them, and limit nesting to MaxDepth. They are stricter than
// lib0 where lib0 would be lossy or silently accept input it never writes (SPEC §1.5):
// integers above 2^53−1 or longer than 9 bytes, invalid UTF-8, unknown `any` tags and
// exhausted columns (other than the byte RLE column, which repeats its last value as Yjs
// requires) are errors wrapping ErrMalformed or ErrUnexpectedEOF.
//
// NaN payload bits are kept as decoded, as V8 does; other JavaScript engines may canonicalise
// them.
package lib0
