package persistence

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The store's logic is written once against these small interfaces; kv_bolt.go maps them
// onto bbolt buckets and kv_memory.go onto maps, so both stores behave the same.

// kv is a transactional store of documents.
type kv interface {
	view(fn func(tx kvTx) error) error
	update(fn func(tx kvTx) error) error
	close() error
}

// kvTx is one transaction. Values returned by it are valid only until it ends.
type kvTx interface {
	// doc returns the named document; (nil, nil) when it does not exist and create is false.
	doc(name string, create bool) (kvDoc, error)
	// forEachDoc calls fn for every document in name order.
	forEachDoc(fn func(name string, d kvDoc) error) error
}

// kvDoc is one document: its meta value, its log and its snapshots.
type kvDoc interface {
	meta() []byte
	setMeta(b []byte) error
	log() kvSeq
	snaps() kvSeq
}

// kvSeq is an ordered map from sequence numbers to values.
type kvSeq interface {
	get(seq uint64) []byte
	put(seq uint64, v []byte) error
	del(seq uint64) error
	// ascend calls fn for the keys in [from, to] in ascending order (to 0: no upper
	// bound) until fn returns false or an error.
	ascend(from, to uint64, fn func(seq uint64, v []byte) (bool, error)) error
	// floor returns the greatest key ≤ seq.
	floor(seq uint64) (uint64, []byte, bool)
}

// docMeta is the per-document summary kept beside the log (see doc.go, "Layout").
//
// Invariant: the log holds exactly the records baseSeq+1 … lastSeq; snapshots exist only at
// sequence numbers in [baseSeq, lastSeq], and one exists at baseSeq when baseSeq > 0.
type docMeta struct {
	baseSeq   uint64 // records ≤ baseSeq were folded by Compact into the snapshot at baseSeq
	lastSeq   uint64 // newest record
	snapSeq   uint64 // newest snapshot (0: none)
	bytes     int64  // stored bytes of records and snapshots
	tailBytes int64  // stored bytes of the records after snapSeq
	lastEdit  int64  // Unix nanoseconds of the newest record's Time
}

const metaVersion = 1

func (m *docMeta) encode() []byte {
	b := make([]byte, 1, 1+6*binary.MaxVarintLen64)
	b[0] = metaVersion
	b = binary.AppendUvarint(b, m.baseSeq)
	b = binary.AppendUvarint(b, m.lastSeq)
	b = binary.AppendUvarint(b, m.snapSeq)
	b = binary.AppendVarint(b, m.bytes)
	b = binary.AppendVarint(b, m.tailBytes)
	b = binary.AppendVarint(b, m.lastEdit)
	return b
}

func decodeMeta(b []byte) (docMeta, error) {
	if len(b) == 0 {
		return docMeta{}, nil
	}
	if b[0] != metaVersion {
		return docMeta{}, fmt.Errorf("document meta: %w %d", errVersion, b[0])
	}
	r := reader{b: b[1:]}
	m := docMeta{
		baseSeq:   r.uvarint(),
		lastSeq:   r.uvarint(),
		snapSeq:   r.uvarint(),
		bytes:     r.varint(),
		tailBytes: r.varint(),
		lastEdit:  r.varint(),
	}
	if r.err != nil {
		return docMeta{}, fmt.Errorf("document meta: %w", r.err)
	}
	if m.baseSeq > m.lastSeq || m.snapSeq > m.lastSeq || (m.snapSeq < m.baseSeq) {
		return docMeta{}, fmt.Errorf("document meta: inconsistent sequence numbers")
	}
	return m, nil
}

// readMeta returns the meta of d, reporting a bad one as corruption of doc.
func readMeta(name string, d kvDoc) (docMeta, error) {
	m, err := decodeMeta(d.meta())
	if err != nil {
		return docMeta{}, &CorruptError{Doc: name, Err: err}
	}
	return m, nil
}

func (m *docMeta) info(name string) DocInfo {
	di := DocInfo{
		Name:        name,
		Ops:         m.lastSeq - m.baseSeq,
		LastSeq:     m.lastSeq,
		Bytes:       m.bytes,
		SnapshotSeq: m.snapSeq,
		BaseSeq:     m.baseSeq,
	}
	if m.lastEdit != 0 {
		di.LastEdit = time.Unix(0, m.lastEdit).UTC()
	}
	return di
}

// seqKey is the bbolt key of a sequence number: big-endian, so byte order is numeric order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}
