package crdt

import (
	"slices"
	"sort"
)

// Delete sets (SPEC §1.3.6, §3.4.1; yjs/yjs: src/utils/DeleteSet.js).

type dsRange struct{ clock, len uint64 }

// deleteSet maps a client to its deleted ranges.
type deleteSet struct {
	clients map[uint64][]dsRange
	added   int    // ranges added since the last reset
	first   uint64 // the client of the first range added since the last reset
	several bool   // ranges of more than one client were added since the last reset
}

// sole returns the only client with ranges when every range since the last reset was added
// for one client, so that callers can skip iterating the map.
func (ds *deleteSet) sole() (uint64, bool) {
	if ds.added == 0 || ds.several {
		return 0, false
	}
	return ds.first, true
}

func newDeleteSet() *deleteSet { return &deleteSet{} }

func (ds *deleteSet) add(client, clock, length uint64) {
	if ds.clients == nil {
		ds.clients = make(map[uint64][]dsRange)
	}
	ds.clients[client] = append(ds.clients[client], dsRange{clock, length})
	if ds.added == 0 {
		ds.first = client
	} else if client != ds.first {
		ds.several = true
	}
	ds.added++
}

// empty reports whether ds holds no range (a client may map to an empty slice after reset).
func (ds *deleteSet) empty() bool {
	for _, rs := range ds.clients {
		if len(rs) > 0 {
			return false
		}
	}
	return true
}

// reset empties ds, keeping the per-client slices of a few clients for reuse.
func (ds *deleteSet) reset() {
	if ds.added == 0 {
		return // every slice is empty already
	}
	ds.added, ds.several = 0, false
	if len(ds.clients) > 8 {
		ds.clients = nil
		return
	}
	for c, rs := range ds.clients {
		if cap(rs) > 256 {
			delete(ds.clients, c)
		} else {
			ds.clients[c] = rs[:0]
		}
	}
}

// sortAndMerge sorts each client's ranges by clock and merges overlapping or touching ones.
func (ds *deleteSet) sortAndMerge() {
	if c, ok := ds.sole(); ok {
		ds.clients[c] = sortAndMergeRanges(ds.clients[c])
		return
	}
	for c, rs := range ds.clients {
		ds.clients[c] = sortAndMergeRanges(rs)
	}
}

func sortAndMergeRanges(rs []dsRange) []dsRange {
	if !slices.IsSortedFunc(rs, func(a, b dsRange) int { return cmpU64(a.clock, b.clock) }) {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].clock < rs[j].clock })
	}
	j := 0
	for i := 1; i < len(rs); i++ {
		l, r := &rs[j], rs[i]
		if l.clock+l.len >= r.clock {
			if e := r.clock + r.len; e > l.clock+l.len {
				l.len = e - l.clock
			}
		} else {
			j++
			rs[j] = r
		}
	}
	if len(rs) > 0 {
		rs = rs[:j+1]
	}
	return rs
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortedClientsDesc returns the keys of m in descending order.
func sortedClientsDesc[V any](m map[uint64]V) []uint64 {
	cs := make([]uint64, 0, len(m))
	for c := range m {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b uint64) int { return cmpU64(b, a) })
	return cs
}

// write writes the delete set, clients descending, ranges as stored.
func (ds *deleteSet) write(e dsEncoder) {
	if c, ok := ds.sole(); ok {
		r := e.restEncoder()
		r.WriteVarUint(1)
		ds.writeClient(e, c, ds.clients[c])
		return
	}
	n := 0
	for _, rs := range ds.clients {
		if len(rs) > 0 {
			n++
		}
	}
	r := e.restEncoder()
	r.WriteVarUint(uint64(n))
	if n == 0 {
		return
	}
	for _, c := range sortedClientsDesc(ds.clients) {
		if rs := ds.clients[c]; len(rs) > 0 {
			ds.writeClient(e, c, rs)
		}
	}
}

// writeClient writes the ranges of one client.
func (ds *deleteSet) writeClient(e dsEncoder, c uint64, rs []dsRange) {
	r := e.restEncoder()
	e.resetDsCurVal()
	r.WriteVarUint(c)
	r.WriteVarUint(uint64(len(rs)))
	for _, x := range rs {
		e.writeDsClock(x.clock)
		e.writeDsLen(x.len)
	}
}

// deleteSetFromStore computes the delete set of the whole store: each maximal run of
// deleted structs is one range.
func deleteSetFromStore(s *structStore) *deleteSet {
	ds := &deleteSet{clients: make(map[uint64][]dsRange)}
	for c, ss := range s.clients {
		var rs []dsRange
		for i := 0; i < len(ss); i++ {
			st := ss[i]
			if !st.deleted() {
				continue
			}
			clock, l := st.id.Clock, st.length
			for i+1 < len(ss) && ss[i+1].deleted() {
				i++
				l += ss[i].length
			}
			rs = append(rs, dsRange{clock, l})
		}
		if len(rs) > 0 {
			ds.clients[c] = rs
		}
	}
	return ds
}

// isDeleted reports whether id lies in the delete set (ranges sorted).
func (ds *deleteSet) isDeleted(id ID) bool {
	rs := ds.clients[id.Client]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].clock+rs[i].len > id.Clock })
	return i < len(rs) && rs[i].clock <= id.Clock
}

// decodedDS is a delete set as read from an update: clients and ranges in encoded order.
type decodedDS struct {
	clients []uint64
	ranges  [][]dsRange

	clientBuf [1]uint64    // inline storage for a one-client delete set
	rangesBuf [1][]dsRange // (readDeleteSetInto)
	rangeBuf  [2]dsRange
}

// readDeleteSet reads a whole delete set without touching any document.
func readDeleteSet(d dsDecoder) (*decodedDS, error) {
	out := &decodedDS{}
	if err := readDeleteSetInto(d, out); err != nil {
		return nil, err
	}
	return out, nil
}

// readDeleteSetInto reads a whole delete set into out, which must be zero.
func readDeleteSetInto(d dsDecoder, out *decodedDS) error {
	r := d.restDecoder()
	n, err := r.ReadVarUint()
	if err != nil {
		return codecError("delete set client count", err)
	}
	if n == 1 {
		out.clients, out.ranges = out.clientBuf[:0], out.rangesBuf[:0]
	}
	for i := uint64(0); i < n; i++ {
		d.resetDsCurVal()
		client, err := r.ReadVarUint()
		if err != nil {
			return codecError("delete set client", err)
		}
		nr, err := r.ReadVarUint()
		if err != nil {
			return codecError("delete set range count", err)
		}
		var rs []dsRange
		if n == 1 {
			rs = out.rangeBuf[:0]
		}
		for j := uint64(0); j < nr; j++ {
			clock, err := d.readDsClock()
			if err != nil {
				return err
			}
			l, err := d.readDsLen()
			if err != nil {
				return err
			}
			if l == 0 {
				return codecError("zero-length delete set range", nil)
			}
			if clock > maxSafeInt || l > maxSafeInt || clock+l > maxSafeInt {
				return codecError("delete set range beyond 2^53-1", nil)
			}
			rs = append(rs, dsRange{clock, l})
		}
		if len(rs) > 0 {
			out.clients = append(out.clients, client)
			out.ranges = append(out.ranges, rs)
		}
	}
	return nil
}

// applyDeleteSet deletes what ds names and returns the ranges it could not apply yet as a
// v2 update, or nil (SPEC §3.1.6).
func applyDeleteSet(tx *Transaction, ds *decodedDS) []byte {
	s := tx.doc.store
	unapplied := newDeleteSet()
	for ci, client := range ds.clients {
		state := s.getState(client)
		for _, rg := range ds.ranges[ci] {
			clock, end := rg.clock, rg.clock+rg.len
			if clock >= state {
				unapplied.add(client, clock, end-clock)
				continue
			}
			if state < end {
				unapplied.add(client, state, end-state)
			}
			ss := s.clients[client]
			i := findIndexSS(ss, clock)
			if i < 0 {
				continue
			}
			st := ss[i]
			if !st.deleted() && st.id.Clock < clock {
				r := splitItem(tx, st, clock-st.id.Clock)
				s.insertAt(client, i+1, r)
				i++
			}
			for {
				ss = s.clients[client]
				if i >= len(ss) {
					break
				}
				st = ss[i]
				i++
				if st.id.Clock >= end {
					break
				}
				if !st.deleted() {
					if end < st.id.Clock+st.length {
						r := splitItem(tx, st, end-st.id.Clock)
						s.insertAt(client, i, r)
					}
					st.delete(tx)
				}
			}
		}
	}
	if unapplied.empty() {
		return nil
	}
	unapplied.sortAndMerge()
	e := newUpdateEncoderV2()
	e.restEncoder().WriteVarUint(0)
	unapplied.write(e)
	return e.toBytes()
}
