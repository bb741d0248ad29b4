package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/google/uuid"
)

// Errors returned by the store. They are compared with errors.Is.
var (
	// ErrCorrupt is matched by every *CorruptError.
	ErrCorrupt = errors.New("persistence: corrupt record")
	// ErrClosed is returned (or passed to an ack) after Close.
	ErrClosed = errors.New("persistence: store closed")
	// ErrNotFound is returned for a document that holds no records or snapshots.
	ErrNotFound = errors.New("persistence: document not found")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("persistence: database is locked by a running server")
	// ErrReadOnly is returned for writes to a store opened with Options.ReadOnly.
	ErrReadOnly = errors.New("persistence: store is read-only")
	// ErrCompacted is returned for a point of history that Compact has folded away.
	ErrCompacted = errors.New("persistence: history compacted")
	// ErrExists is returned by Import when the target document already has content.
	ErrExists = errors.New("persistence: document exists")
	// ErrInvalid is returned for an unusable argument (document name, sequence number).
	ErrInvalid = errors.New("persistence: invalid argument")
	// ErrBadFormat is returned by Import for a file that is not a Tandem export.
	ErrBadFormat = errors.New("persistence: bad export file")
)

// CorruptError reports stored data that failed its checksum, did not decode, or did not
// replay. Seq names the record (or snapshot) at fault; 0 when it cannot be told.
type CorruptError struct {
	Doc string
	Seq uint64
	Err error
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("persistence: corrupt document %q at seq %d: %v", e.Doc, e.Seq, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorrupt) true for every *CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Record is one update the server accepted, as stored in a document's log.
type Record struct {
	Seq     uint64    // assigned by the store on Append (1, 2, 3 … per document)
	Time    time.Time // server time, set by the caller (the store fills it in if zero)
	ConnID  uuid.UUID // connection that sent it (uuid.Nil for server-side edits and imports)
	User    string    // authenticated principal, "" until auth exists
	Clients []uint64  // Yjs client ids the update touches
	Update  []byte    // the v1 update bytes as accepted
}

// Snapshot is the encoded state of a document after the record with sequence number Seq.
type Snapshot struct {
	Seq   uint64
	State []byte // a v1 update holding the whole state
}

const (
	recordVersion   = 1
	snapshotVersion = 1
	headerLen       = 5 // version byte + CRC-32C
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errChecksum, errTruncated, … are the causes inside a CorruptError.
var (
	errChecksum  = errors.New("checksum mismatch")
	errVersion   = errors.New("unknown format version")
	errTruncated = errors.New("truncated")
	errTrailing  = errors.New("trailing bytes")
	errSeq       = errors.New("sequence number does not match its key")
	errGap       = errors.New("missing record")
)

// encodeRecord returns the stored form of rec (see doc.go, "Record format").
func encodeRecord(rec *Record) []byte {
	n := headerLen + 3*binary.MaxVarintLen64 + 16 + len(rec.User) + len(rec.Update) +
		binary.MaxVarintLen64*(len(rec.Clients)+3)
	b := make([]byte, headerLen, n)
	b[0] = recordVersion
	b = binary.AppendUvarint(b, rec.Seq)
	b = binary.AppendVarint(b, rec.Time.UnixNano())
	b = append(b, rec.ConnID[:]...)
	b = binary.AppendUvarint(b, uint64(len(rec.User)))
	b = append(b, rec.User...)
	b = binary.AppendUvarint(b, uint64(len(rec.Clients)))
	for _, c := range rec.Clients {
		b = binary.AppendUvarint(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(rec.Update)))
	b = append(b, rec.Update...)
	binary.BigEndian.PutUint32(b[1:5], crc32.Checksum(b[headerLen:], castagnoli))
	return b
}

// decodeRecord parses and verifies a stored record. The result does not alias b.
// Errors are causes for a CorruptError (the caller knows the document).
func decodeRecord(b []byte) (Record, error) {
	body, err := checkHeader(b, recordVersion)
	if err != nil {
		return Record{}, err
	}
	r := reader{b: body}
	var rec Record
	rec.Seq = r.uvarint()
	rec.Time = time.Unix(0, r.varint()).UTC()
	copy(rec.ConnID[:], r.bytes(16))
	rec.User = string(r.bytes(r.length()))
	if n := r.length(); n > 0 {
		rec.Clients = make([]uint64, 0, n)
		for range n {
			rec.Clients = append(rec.Clients, r.uvarint())
		}
	}
	if n := r.length(); r.err == nil {
		rec.Update = append([]byte{}, r.bytes(n)...)
	}
	if r.err != nil {
		return Record{}, r.err
	}
	if len(r.b) != 0 {
		return Record{}, errTrailing
	}
	return rec, nil
}

// encodeSnapshot returns the stored form of a snapshot.
func encodeSnapshot(seq uint64, state []byte) []byte {
	b := make([]byte, headerLen, headerLen+binary.MaxVarintLen64+len(state))
	b[0] = snapshotVersion
	b = binary.AppendUvarint(b, seq)
	b = append(b, state...)
	binary.BigEndian.PutUint32(b[1:5], crc32.Checksum(b[headerLen:], castagnoli))
	return b
}

// decodeSnapshot parses and verifies a stored snapshot; the result does not alias b.
func decodeSnapshot(b []byte) (Snapshot, error) {
	body, err := checkHeader(b, snapshotVersion)
	if err != nil {
		return Snapshot{}, err
	}
	r := reader{b: body}
	seq := r.uvarint()
	if r.err != nil {
		return Snapshot{}, r.err
	}
	return Snapshot{Seq: seq, State: append([]byte{}, r.b...)}, nil
}

// checkHeader verifies the version byte and checksum and returns the body.
func checkHeader(b []byte, version byte) ([]byte, error) {
	if len(b) < headerLen {
		return nil, errTruncated
	}
	if b[0] != version {
		return nil, fmt.Errorf("%w %d", errVersion, b[0])
	}
	if crc32.Checksum(b[headerLen:], castagnoli) != binary.BigEndian.Uint32(b[1:5]) {
		return nil, errChecksum
	}
	return b[headerLen:], nil
}

// reader decodes the fields of a record; the first error sticks and later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

// length reads a count and checks it against the bytes that remain (every counted
// element takes at least one byte), so a bad prefix never causes a large allocation.
func (r *reader) length() int {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)) {
		r.err = errTruncated
		return 0
	}
	return int(v)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errTruncated
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
