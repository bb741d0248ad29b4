package crdt

import (
	"math/rand/v2"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Transactions (SPEC §3.8.1; yjs/yjs: src/utils/Transaction.js).

// Transaction groups changes to a Doc. It is passed to the function given to Doc.Transact
// and is valid only during that call.
type Transaction struct {
	doc    *Doc
	origin any
	local  bool
	// beforeState holds the state before the transaction of every client it added structs
	// to; other clients are unchanged (see beforeClock).
	beforeState  clientTable[uint64]
	beforeBuf    [2]clientEntry[uint64]
	deleteSet    *deleteSet
	ds           deleteSet // storage of deleteSet
	mergeStructs []*item
}

// Origin returns the origin given to Doc.Transact (or to the update that opened it).
func (tx *Transaction) Origin() any { return tx.origin }

// Doc returns the document the transaction changes.
func (tx *Transaction) Doc() *Doc { return tx.doc }

// beforeClock returns client's state when the transaction started.
func (tx *Transaction) beforeClock(client uint64) uint64 {
	if k, ok := tx.beforeState.get(client); ok {
		return k
	}
	return tx.doc.store.getState(client)
}

// addStruct appends a struct to the store, noting its client's state before the transaction.
func (tx *Transaction) addStruct(it *item) {
	s := tx.doc.store
	c := it.id.Client
	if tx.beforeState.find(c) < 0 {
		if tx.beforeState.entries == nil {
			tx.beforeState.entries = tx.beforeBuf[:0]
		}
		tx.beforeState.put(c, s.getState(c))
	}
	s.addStruct(it)
}

func newTransaction(d *Doc, origin any, local bool) *Transaction {
	tx := d.spareTx
	if tx == nil {
		tx = &Transaction{}
	}
	d.spareTx = nil
	tx.doc, tx.origin, tx.local = d, origin, local
	tx.deleteSet = &tx.ds
	return tx
}

// recycle clears tx after its cleanup and keeps it, with its buffers, for the next
// transaction of d. Large buffers are dropped so that one big transaction does not pin memory.
func (d *Doc) recycle(tx *Transaction) {
	tx.doc, tx.origin = nil, nil
	tx.beforeState.entries = tx.beforeBuf[:0]
	tx.beforeState.idx = nil
	clear(tx.beforeBuf[:])
	if cap(tx.mergeStructs) > 1024 {
		tx.mergeStructs = nil
	} else {
		clear(tx.mergeStructs)
		tx.mergeStructs = tx.mergeStructs[:0]
	}
	tx.ds.reset()
	d.spareTx = tx
}

// transact runs fn in the open transaction, or opens one and cleans it up afterwards.
func (d *Doc) transact(origin any, local bool, fn func(tx *Transaction)) {
	if d.tx != nil {
		fn(d.tx)
		return
	}
	tx := newTransaction(d, origin, local)
	d.tx = tx
	// Like Yjs's finally: even if fn panics (a misuse such as inserting beyond the end), what
	// it changed is merged, garbage-collected and emitted, so that peers stay in sync.
	defer func() {
		d.tx = nil
		d.cleanup(tx)
		d.recycle(tx)
	}()
	fn(tx)
}

// tryGcDeleteSet garbage-collects the deleted items in ds (SPEC §3.5).
func (d *Doc) tryGcDeleteSet(ds *deleteSet) {
	if c, ok := ds.sole(); ok {
		d.tryGcClient(c, ds.clients[c])
		return
	}
	for client, rs := range ds.clients {
		d.tryGcClient(client, rs)
	}
}

// tryGcClient garbage-collects the deleted items in one client's ranges.
func (d *Doc) tryGcClient(client uint64, rs []dsRange) {
	s := d.store
	for di := len(rs) - 1; di >= 0; di-- {
		r := rs[di]
		end := r.clock + r.len
		ss := s.clients[client]
		si := findIndexSS(ss, r.clock)
		if si < 0 {
			continue
		}
		for ; si < len(s.clients[client]); si++ {
			st := s.clients[client][si]
			if st.id.Clock >= end {
				break
			}
			if st.isItem() && st.deleted() && !st.keep() {
				st.gc(s, false)
			}
		}
	}
}

// tryMergeDeleteSet merges structs around the delete ranges, right to left.
func (d *Doc) tryMergeDeleteSet(ds *deleteSet) {
	if c, ok := ds.sole(); ok {
		d.tryMergeClient(c, ds.clients[c])
		return
	}
	for client, rs := range ds.clients {
		d.tryMergeClient(client, rs)
	}
}

// tryMergeClient merges structs around one client's delete ranges, right to left.
func (d *Doc) tryMergeClient(client uint64, rs []dsRange) {
	s := d.store
	for di := len(rs) - 1; di >= 0; di-- {
		r := rs[di]
		ss := s.clients[client]
		if len(ss) == 0 {
			continue
		}
		si := min(len(ss)-1, 1+findIndexSS(ss, r.clock+r.len-1))
		for si > 0 && si < len(s.clients[client]) && s.clients[client][si].id.Clock >= r.clock {
			si -= 1 + s.tryToMergeWithLefts(client, si)
		}
	}
}

// cleanup finishes a transaction: gc, merging, client-id check, and the update event.
func (d *Doc) cleanup(tx *Transaction) {
	s := d.store
	ds := tx.deleteSet
	hasDeletes := ds.added > 0 // tx.deleteSet is only ever filled through add
	if hasDeletes {
		ds.sortAndMerge()
	}
	var changedBuf [4]uint64
	changed := changedBuf[:0] // clients whose state the transaction advanced
	for _, e := range tx.beforeState.entries {
		if s.getState(e.client) != e.v {
			changed = append(changed, e.client)
		}
	}
	if hasDeletes {
		if d.gc {
			d.tryGcDeleteSet(ds)
		}
		d.tryMergeDeleteSet(ds)
	}
	for _, client := range changed {
		before, _ := tx.beforeState.get(client)
		ss := s.clients[client]
		first := max(findIndexSS(ss, before), 1)
		for i := len(s.clients[client]) - 1; i >= first; {
			i -= 1 + s.tryToMergeWithLefts(client, i)
		}
	}
	for i := len(tx.mergeStructs) - 1; i >= 0; i-- {
		id := tx.mergeStructs[i].id
		ss := s.clients[id.Client]
		p := findIndexSS(ss, id.Clock)
		if p < 0 {
			continue
		}
		if p+1 < len(ss) {
			if s.tryToMergeWithLefts(id.Client, p+1) > 1 {
				continue
			}
		}
		if p > 0 {
			s.tryToMergeWithLefts(id.Client, p)
		}
	}
	if !tx.local && s.getState(d.clientID) != tx.beforeClock(d.clientID) {
		d.clientID = uint64(rand.Uint32())
	}
	if len(d.handlers) == 0 || (!hasDeletes && len(changed) == 0) {
		return
	}
	e := &d.updateEnc
	e.rest.Reset()
	writeChangedStructs(e, s, changed, &tx.beforeState)
	if hasDeletes {
		ds.write(e)
	} else {
		e.rest.WriteVarUint(0) // an empty delete set
	}
	u := e.toBytes()
	if cap(e.rest.Bytes()) > 1<<16 {
		e.rest = lib0.Encoder{}
	}
	for _, h := range append([]*updateHandler(nil), d.handlers...) {
		h.f(u, tx.origin)
	}
}
