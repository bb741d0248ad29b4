package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket and key names of the bbolt file (see doc.go, "Layout").
var (
	bucketDocs = []byte("docs")
	bucketLog  = []byte("log")
	bucketSnap = []byte("snap")
	keyMeta    = []byte("meta")
)

// boltKV is the kv of a bbolt file.
type boltKV struct {
	db *bolt.DB
}

// openBolt opens (or, unless readOnly, creates) the file at path. A file held by another
// process yields ErrLocked after timeout.
func openBolt(path string, readOnly, noSync bool, timeout time.Duration) (*boltKV, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: readOnly,
		NoSync:   noSync,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("persistence: open %s: %w", path, err)
	}
	if !readOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucketDocs)
			return err
		})
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("persistence: init %s: %w", path, err)
		}
	}
	return &boltKV{db: db}, nil
}

func (k *boltKV) view(fn func(kvTx) error) error {
	return k.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (k *boltKV) update(fn func(kvTx) error) error {
	err := k.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
	if errors.Is(err, bolt.ErrDatabaseReadOnly) {
		return ErrReadOnly
	}
	return err
}

func (k *boltKV) close() error { return k.db.Close() }

type boltTx struct{ tx *bolt.Tx }

func (t boltTx) doc(name string, create bool) (kvDoc, error) {
	docs := t.tx.Bucket(bucketDocs)
	if docs == nil {
		if !create {
			return nil, nil
		}
		return nil, errors.New("persistence: docs bucket missing")
	}
	b := docs.Bucket([]byte(name))
	if b == nil {
		if !create {
			return nil, nil
		}
		var err error
		if b, err = docs.CreateBucket([]byte(name)); err != nil {
			return nil, fmt.Errorf("persistence: create document: %w", err)
		}
		if _, err = b.CreateBucket(bucketLog); err != nil {
			return nil, err
		}
		if _, err = b.CreateBucket(bucketSnap); err != nil {
			return nil, err
		}
	}
	return openBoltDoc(name, b)
}

func openBoltDoc(name string, b *bolt.Bucket) (kvDoc, error) {
	d := boltDoc{b: b, logB: b.Bucket(bucketLog), snapB: b.Bucket(bucketSnap)}
	if d.logB == nil || d.snapB == nil {
		return nil, &CorruptError{Doc: name, Err: errors.New("document buckets missing")}
	}
	return d, nil
}

func (t boltTx) forEachDoc(fn func(string, kvDoc) error) error {
	docs := t.tx.Bucket(bucketDocs)
	if docs == nil {
		return nil
	}
	c := docs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil { // not a bucket
			continue
		}
		d, err := openBoltDoc(string(k), docs.Bucket(k))
		if err != nil {
			return err
		}
		if err := fn(string(k), d); err != nil {
			return err
		}
	}
	return nil
}

type boltDoc struct {
	b, logB, snapB *bolt.Bucket
}

func (d boltDoc) meta() []byte           { return d.b.Get(keyMeta) }
func (d boltDoc) setMeta(v []byte) error { return d.b.Put(keyMeta, v) }
func (d boltDoc) log() kvSeq             { return boltSeq{d.logB} }
func (d boltDoc) snaps() kvSeq           { return boltSeq{d.snapB} }

type boltSeq struct{ b *bolt.Bucket }

func (s boltSeq) get(seq uint64) []byte          { return s.b.Get(seqKey(seq)) }
func (s boltSeq) put(seq uint64, v []byte) error { return s.b.Put(seqKey(seq), v) }
func (s boltSeq) del(seq uint64) error           { return s.b.Delete(seqKey(seq)) }

func (s boltSeq) ascend(from, to uint64, fn func(uint64, []byte) (bool, error)) error {
	c := s.b.Cursor()
	for k, v := c.Seek(seqKey(from)); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("bad key %x", k)
		}
		seq := binary.BigEndian.Uint64(k)
		if to != 0 && seq > to {
			return nil
		}
		more, err := fn(seq, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (s boltSeq) floor(seq uint64) (uint64, []byte, bool) {
	c := s.b.Cursor()
	key := seqKey(seq)
	k, v := c.Seek(key)
	if k == nil {
		k, v = c.Last()
	} else if !bytes.Equal(k, key) {
		k, v = c.Prev()
	}
	if len(k) != 8 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(k), v, true
}
