package persistence

import (
	"slices"
	"sort"
	"sync"
)

// memKV is the kv of a MemoryStore: maps guarded by one lock. Values are copied on put, so
// they never alias the caller's slices. A failed update is rolled back with an undo log.
type memKV struct {
	mu   sync.RWMutex
	docs map[string]*memDoc
}

func newMemKV() *memKV { return &memKV{docs: map[string]*memDoc{}} }

func (k *memKV) view(fn func(kvTx) error) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return fn(&memTx{kv: k})
}

func (k *memKV) update(fn func(kvTx) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	tx := &memTx{kv: k, write: true}
	err := fn(tx)
	if err != nil {
		for i := len(tx.undo) - 1; i >= 0; i-- {
			tx.undo[i]()
		}
	}
	return err
}

func (k *memKV) close() error { return nil }

type memTx struct {
	kv    *memKV
	write bool
	undo  []func()
}

type memDoc struct {
	m     []byte
	logS  memSeq
	snapS memSeq
}

// memDocHandle binds a stored document to the current transaction, for undo.
type memDocHandle struct {
	tx *memTx
	d  *memDoc
}

func (t *memTx) doc(name string, create bool) (kvDoc, error) {
	d := t.kv.docs[name]
	if d == nil {
		if !create {
			return nil, nil
		}
		if !t.write {
			return nil, ErrReadOnly
		}
		d = &memDoc{logS: newMemSeq(), snapS: newMemSeq()}
		t.kv.docs[name] = d
		t.undo = append(t.undo, func() { delete(t.kv.docs, name) })
	}
	return memDocHandle{tx: t, d: d}, nil
}

func (t *memTx) forEachDoc(fn func(string, kvDoc) error) error {
	names := make([]string, 0, len(t.kv.docs))
	for name := range t.kv.docs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := fn(name, memDocHandle{tx: t, d: t.kv.docs[name]}); err != nil {
			return err
		}
	}
	return nil
}

func (h memDocHandle) meta() []byte { return h.d.m }

func (h memDocHandle) setMeta(v []byte) error {
	if !h.tx.write {
		return ErrReadOnly
	}
	prev := h.d.m
	h.d.m = slices.Clone(v)
	h.tx.undo = append(h.tx.undo, func() { h.d.m = prev })
	return nil
}

func (h memDocHandle) log() kvSeq   { return memSeqHandle{tx: h.tx, s: &h.d.logS} }
func (h memDocHandle) snaps() kvSeq { return memSeqHandle{tx: h.tx, s: &h.d.snapS} }

// memSeq keeps its keys sorted; appends at the end and deletes at the front are the
// common cases.
type memSeq struct {
	keys []uint64
	vals map[uint64][]byte
}

func newMemSeq() memSeq { return memSeq{vals: map[uint64][]byte{}} }

type memSeqHandle struct {
	tx *memTx
	s  *memSeq
}

func (h memSeqHandle) get(seq uint64) []byte { return h.s.vals[seq] }

func (h memSeqHandle) put(seq uint64, v []byte) error {
	if !h.tx.write {
		return ErrReadOnly
	}
	prev, had := h.s.vals[seq]
	if !had {
		i, _ := slices.BinarySearch(h.s.keys, seq)
		h.s.keys = slices.Insert(h.s.keys, i, seq)
	}
	h.s.vals[seq] = slices.Clone(v)
	h.tx.undo = append(h.tx.undo, func() {
		if had {
			h.s.vals[seq] = prev
			return
		}
		h.s.remove(seq)
	})
	return nil
}

func (h memSeqHandle) del(seq uint64) error {
	if !h.tx.write {
		return ErrReadOnly
	}
	prev, had := h.s.vals[seq]
	if !had {
		return nil
	}
	h.s.remove(seq)
	h.tx.undo = append(h.tx.undo, func() {
		i, _ := slices.BinarySearch(h.s.keys, seq)
		h.s.keys = slices.Insert(h.s.keys, i, seq)
		h.s.vals[seq] = prev
	})
	return nil
}

func (s *memSeq) remove(seq uint64) {
	if i, ok := slices.BinarySearch(s.keys, seq); ok {
		s.keys = slices.Delete(s.keys, i, i+1)
	}
	delete(s.vals, seq)
}

func (h memSeqHandle) ascend(from, to uint64, fn func(uint64, []byte) (bool, error)) error {
	i, _ := slices.BinarySearch(h.s.keys, from)
	// Iterate over a copy of the keys so fn may not disturb the walk.
	keys := slices.Clone(h.s.keys[i:])
	for _, k := range keys {
		if to != 0 && k > to {
			return nil
		}
		v, ok := h.s.vals[k]
		if !ok {
			continue
		}
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (h memSeqHandle) floor(seq uint64) (uint64, []byte, bool) {
	i, found := slices.BinarySearch(h.s.keys, seq)
	if !found {
		i--
	}
	if i < 0 {
		return 0, nil, false
	}
	k := h.s.keys[i]
	return k, h.s.vals[k], true
}
