package crdt

import "github.com/tandemsync/tandem/crdt/lib0"

// The update codecs. Yjs writes and reads the same logical stream (SPEC §1.3.1) through two
// encodings: v1, one byte stream, and v2, columns (SPEC §1.3.3–1.3.4). The struct store, the
// integration code and the lazy update functions talk only to these two interfaces, so each
// algorithm is written once for both formats. The method set follows Yjs's UpdateEncoderV1/V2
// and UpdateDecoderV1/V2 (yjs/yjs: src/utils/UpdateEncoder.js, src/utils/UpdateDecoder.js).
//
// Invariant: every read method checks the input that remains and returns an error wrapping
// ErrMalformed instead of reading past the end; none allocates more than the input can hold.

// dsEncoder writes delete sets (and, in v2, the state vectors of snapshots).
type dsEncoder interface {
	// rest returns the encoder for the block-level var-uints (numClients, numStructs, firstClock,
	// the delete set's client and range counts). In v1 it is the single stream.
	restEncoder() *lib0.Encoder
	// resetDsCurVal starts a new client in the delete set (v2 writes clocks relative to the
	// end of the previous range).
	resetDsCurVal()
	writeDsClock(clock uint64)
	writeDsLen(length uint64)
	// toBytes returns the finished update.
	toBytes() []byte
}

// updateEncoder writes structs.
type updateEncoder interface {
	dsEncoder
	writeLeftID(id ID)
	writeRightID(id ID)
	writeClient(client uint64)
	writeInfo(info byte)
	writeString(s string)
	// writeText writes String content, kept as UTF-16 code units. v1 turns each lone
	// surrogate into U+FFFD; v2 joins the column in UTF-16 first (SPEC §1.3.4).
	writeText(u []uint16)
	// writeASCII writes String content whose code units are all below 0x80, one byte each.
	writeASCII(b []byte)
	writeParentInfo(isYKey bool)
	writeTypeRef(ref uint8)
	writeLen(n uint64)
	writeAny(v any)
	writeBuf(b []byte)
	writeJSON(v any)
	writeKey(key string)
}

// dsDecoder reads delete sets.
type dsDecoder interface {
	restDecoder() *lib0.Decoder
	resetDsCurVal()
	readDsClock() (uint64, error)
	readDsLen() (uint64, error)
}

// updateDecoder reads structs.
type updateDecoder interface {
	dsDecoder
	readLeftID() (ID, error)
	readRightID() (ID, error)
	readClient() (uint64, error)
	readInfo() (byte, error)
	readString() (string, error)
	// readText reads String content as UTF-16 code units (v2 may yield lone surrogates).
	readText() ([]uint16, error)
	// readTextContent reads the text of String content (not empty) as an item content.
	readTextContent() (content, uint64, error)
	readParentInfo() (bool, error)
	readTypeRef() (uint8, error)
	readLen() (uint64, error)
	readAny() (any, error)
	readBuf() ([]byte, error)
	readJSON() (any, error)
	readKey() (string, error)
}
