package persistence

import (
	"slices"
)

// WithBuilder returns opts with the state builder replaced (tests of the storage layer
// that do not depend on the crdt package).
func WithBuilder(opts Options, f func(base []byte, tail []Record) ([]byte, error)) Options {
	opts.build = f
	return opts
}

// FlipByte flips one bit of byte off of the stored record (or, if snapshot, snapshot) seq
// of doc, as a disk error would.
func FlipByte(s *Store, doc string, seq uint64, snapshot bool, off int) error {
	return s.kv.update(func(tx kvTx) error {
		d, err := tx.doc(doc, false)
		if err != nil || d == nil {
			return ErrNotFound
		}
		seqs := d.log()
		if snapshot {
			seqs = d.snaps()
		}
		v := slices.Clone(seqs.get(seq))
		if v == nil || off >= len(v) {
			return ErrInvalid
		}
		v[off] ^= 0x10
		return seqs.put(seq, v)
	})
}

// DeleteRecord removes a record from the log without touching the meta, as a lost page would.
func DeleteRecord(s *Store, doc string, seq uint64) error {
	return s.kv.update(func(tx kvTx) error {
		d, err := tx.doc(doc, false)
		if err != nil || d == nil {
			return ErrNotFound
		}
		return d.log().del(seq)
	})
}

var (
	EncodeRecord   = encodeRecord
	DecodeRecord   = decodeRecord
	EncodeSnapshot = encodeSnapshot
	DecodeSnapshot = decodeSnapshot
)

// BuildState is the production state builder.
var BuildState = buildState
