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
}

func newDeleteSet() *deleteSet { return &deleteSet{} }

func (ds *deleteSet) add(client, clock, length uint64) {
	if ds.clients == nil {
		ds.clients = make(map[uint64][]dsRange)
	}
	ds.clients[client] = append(ds.clients[client], dsRange{clock, length})
}

func (ds *deleteSet) empty() bool { return len(ds.clients) == 0 }

// sortAndMerge sorts each client's ranges by clock and merges overlapping or touching ones.
func (ds *deleteSet) sortAndMerge() {
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
	n := 0
	for _, rs := range ds.clients {
		if len(rs) > 0 {
			n++
		}
	}
	r := e.restEncoder()
	r.WriteVarUint(uint64(n))
	for _, c := range sortedClientsDesc(ds.clients) {
		rs := ds.clients[c]
		if len(rs) == 0 {
			continue
		}
		e.resetDsCurVal()
		r.WriteVarUint(c)
		r.WriteVarUint(uint64(len(rs)))
		for _, x := range rs {
			e.writeDsClock(x.clock)
			e.writeDsLen(x.len)
		}
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
}

// readDeleteSet reads a whole delete set without touching any document.
func readDeleteSet(d dsDecoder) (*decodedDS, error) {
	r := d.restDecoder()
	n, err := r.ReadVarUint()
	if err != nil {
		return nil, codecError("delete set client count", err)
	}
	out := &decodedDS{}
	for i := uint64(0); i < n; i++ {
		d.resetDsCurVal()
		client, err := r.ReadVarUint()
		if err != nil {
			return nil, codecError("delete set client", err)
		}
		nr, err := r.ReadVarUint()
		if err != nil {
			return nil, codecError("delete set range count", err)
		}
		var rs []dsRange
		for j := uint64(0); j < nr; j++ {
			clock, err := d.readDsClock()
			if err != nil {
				return nil, err
			}
			l, err := d.readDsLen()
			if err != nil {
				return nil, err
			}
			if l == 0 {
				return nil, codecError("zero-length delete set range", nil)
			}
			if clock > maxSafeInt || l > maxSafeInt || clock+l > maxSafeInt {
				return nil, codecError("delete set range beyond 2^53-1", nil)
			}
			rs = append(rs, dsRange{clock, l})
		}
		if len(rs) > 0 {
			out.clients = append(out.clients, client)
			out.ranges = append(out.ranges, rs)
		}
	}
	return out, nil
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
