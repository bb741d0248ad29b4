package awareness

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Wire format of an awareness update (yjs/y-protocols: awareness.js, encodeAwarenessUpdate
// and applyAwarenessUpdate):
//
//	varUint(n), then n times: varUint(clientID) varUint(clock) varString(JSON text)
//
// The JSON text `null` marks a removed (or absent) client. y-websocket wraps an update as
// `01` + varUint8Array(update); that framing is the caller's business.

// minEntrySize is the smallest number of bytes one entry can take: a one-byte client id, a
// one-byte clock and a one-byte length prefix of an (invalid) empty JSON text.
const minEntrySize = 3

// nullJSON is the JSON text written for a client without a state.
var nullJSON = []byte("null")

// Entry is one entry of an awareness update.
type Entry struct {
	// ClientID is the Yjs client id the entry is about (at most 2^53−1).
	ClientID ClientID
	// Clock is the entry's awareness clock (at most 2^53−1).
	Clock uint64
	// JSON is the state as JSON text, exactly as on the wire. The text `null` (possibly
	// surrounded by JSON whitespace) marks a removal. On encode, nil is written as `null`.
	// Entries returned by DecodeUpdate alias the decoded update.
	JSON []byte
}

// Removed reports whether the entry's state is JSON null, i.e. whether it removes the client.
func (e Entry) Removed() bool { return e.JSON == nil || isNullJSON(e.JSON) }

// isNullJSON reports whether b, which must be valid JSON text, is the value null.
func isNullJSON(b []byte) bool {
	// Valid JSON text that is null is "null" surrounded only by JSON whitespace.
	i, j := 0, len(b)
	for i < j && isJSONSpace(b[i]) {
		i++
	}
	for j > i && isJSONSpace(b[j-1]) {
		j--
	}
	return string(b[i:j]) == "null"
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// DecodeUpdate decodes an awareness update into its entries, in wire order. It checks
// everything y-protocols' reader would throw on (truncation, var-uints above 2^53−1, invalid
// UTF-8, text that JSON.parse refuses) and, more strictly, refuses bytes after the last entry.
// Errors wrap ErrMalformed. The returned entries alias update. DecodeUpdate enforces no size
// limits of its own; State.ApplyUpdate applies the configured ones.
func DecodeUpdate(update []byte) ([]Entry, error) {
	return decodeUpdate(update, 0, 0)
}

// decodeUpdate is DecodeUpdate with limits: maxEntries and maxState bound the entry count and
// the length of one JSON text; zero means no limit. The claimed count is checked before
// anything is allocated, and the allocation is bounded by the input length.
func decodeUpdate(update []byte, maxEntries, maxState int) ([]Entry, error) {
	d := lib0.NewDecoder(update)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, fmt.Errorf("%w: entry count: %w", ErrMalformed, err)
	}
	if maxEntries > 0 && n > uint64(maxEntries) {
		return nil, fmt.Errorf("%w: %d entries, at most %d allowed", ErrTooManyEntries, n, maxEntries)
	}
	if n > uint64(d.Remaining()/minEntrySize) {
		return nil, fmt.Errorf("%w: %d entries claimed but only %d bytes follow: %w",
			ErrMalformed, n, d.Remaining(), lib0.ErrUnexpectedEOF)
	}
	entries := make([]Entry, 0, int(n))
	for i := 0; i < int(n); i++ {
		e, err := decodeEntry(d, maxState)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		entries = append(entries, e)
	}
	if d.Remaining() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last entry at offset %d", ErrMalformed, d.Remaining(), d.Pos())
	}
	return entries, nil
}

func decodeEntry(d *lib0.Decoder, maxState int) (Entry, error) {
	id, err := d.ReadVarUint()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: client id: %w", ErrMalformed, err)
	}
	clock, err := d.ReadVarUint()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: clock: %w", ErrMalformed, err)
	}
	start := d.Pos()
	size, err := d.ReadVarUint()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: state length: %w", ErrMalformed, err)
	}
	if maxState > 0 && size > uint64(maxState) {
		return Entry{}, fmt.Errorf("%w: client %d: %d bytes, at most %d allowed", ErrStateTooLarge, id, size, maxState)
	}
	if size > uint64(d.Remaining()) {
		return Entry{}, fmt.Errorf("%w: state of %d bytes at offset %d runs past the end: %w",
			ErrMalformed, size, start, lib0.ErrUnexpectedEOF)
	}
	text, err := d.ReadRaw(int(size))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: state: %w", ErrMalformed, err)
	}
	if !utf8.Valid(text) {
		return Entry{}, fmt.Errorf("%w: state at offset %d: invalid UTF-8: %w", ErrMalformed, start, lib0.ErrMalformed)
	}
	// JSON.parse and encoding/json accept the same grammar (RFC 8259); json.Valid neither
	// allocates nor converts numbers, so a valid but huge number (JSON.parse: Infinity) passes.
	if !json.Valid(text) {
		return Entry{}, fmt.Errorf("%w: state at offset %d is not JSON text", ErrMalformed, start)
	}
	return Entry{ClientID: ClientID(id), Clock: clock, JSON: text}, nil
}

// EncodeEntries encodes entries as one awareness update, in the order given. A nil JSON is
// written as `null`; any other JSON is written unchanged (it must be valid UTF-8 JSON text for
// a y-protocols peer to accept it). Client ids and clocks above 2^53−1 are not checked here.
func EncodeEntries(entries []Entry) []byte {
	var e lib0.Encoder
	e.WriteVarUint(uint64(len(entries)))
	for _, en := range entries {
		writeEntry(&e, en.ClientID, en.Clock, en.JSON)
	}
	return e.Bytes()
}

func writeEntry(e *lib0.Encoder, id ClientID, clock uint64, text []byte) {
	if text == nil {
		text = nullJSON
	}
	e.WriteVarUint(uint64(id))
	e.WriteVarUint(clock)
	e.WriteVarUint(uint64(len(text)))
	e.WriteRaw(text)
}
