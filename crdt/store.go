package crdt

// The struct store (SPEC §2.1, §3.0; yjs/yjs: src/utils/StructStore.js): per client, the
// structs sorted by clock, contiguous from clock 0.

// pendingStructs are structs that wait for missing dependencies, kept as a v2 update.
type pendingStructs struct {
	// missing maps a client to a clock: once the client's state passes it, the next update
	// retries the pending structs (SPEC §3.1.5).
	missing map[uint64]uint64
	update  []byte
	have    map[uint64][]dsRange // clock ranges held by update and unmerged
	// unmerged are rest updates that MergeUpdatesV2 refused to merge into update. Never
	// expected, since the Doc wrote both itself; kept so that no struct is lost: they are
	// encoded with the document state and integrated again on a retry, after update.
	unmerged [][]byte
}

// mergeMissing lowers p's retry clocks to those of m, client by client.
func (p *pendingStructs) mergeMissing(m map[uint64]uint64) {
	if len(m) == 0 {
		return
	}
	if p.missing == nil {
		p.missing = make(map[uint64]uint64, len(m))
	}
	for c, k := range m {
		if old, ok := p.missing[c]; !ok || old > k {
			p.missing[c] = k
		}
	}
}

// addRest adds structs that could not be integrated to the pending structs, merging their
// update into the pending one and their missing clocks into its, per-client minimum (SPEC §3.1.5).
func (s *structStore) addRest(rs *restStructs) {
	p := s.pending
	if p == nil {
		s.pending = &pendingStructs{missing: rs.missing, update: rs.update, have: rs.have}
		return
	}
	p.mergeMissing(rs.missing)
	if p.have == nil {
		p.have = make(map[uint64][]dsRange, len(rs.have))
	}
	for c, rg := range rs.have {
		p.have[c] = sortAndMergeRanges(append(p.have[c], rg...))
	}
	if merged, err := MergeUpdatesV2([][]byte{p.update, rs.update}); err == nil {
		p.update = merged
	} else {
		p.unmerged = append(p.unmerged, rs.update)
	}
}

// canProgress reports whether the pending update holds the struct at the current state of
// some client, so that integrating it again could make progress.
func (p *pendingStructs) canProgress(s *structStore) bool {
	for c, rs := range p.have {
		st := s.getState(c)
		for _, r := range rs {
			if r.clock <= st && st < r.clock+r.len {
				return true
			}
		}
	}
	return false
}

type structStore struct {
	clients map[uint64][]*item
	pending *pendingStructs
	// pendingDs is a v2 update holding only the delete ranges that could not be applied yet.
	pendingDs []byte
}

func newStructStore() *structStore {
	return &structStore{clients: make(map[uint64][]*item)}
}

// getState returns the next clock expected from client.
func (s *structStore) getState(client uint64) uint64 {
	ss := s.clients[client]
	if len(ss) == 0 {
		return 0
	}
	last := ss[len(ss)-1]
	return last.id.Clock + last.length
}

// stateVector returns the state of every client.
func (s *structStore) stateVector() StateVector {
	sv := make(StateVector, len(s.clients))
	for c, ss := range s.clients {
		if len(ss) > 0 {
			last := ss[len(ss)-1]
			sv[c] = last.id.Clock + last.length
		}
	}
	return sv
}

// findIndexSS returns the index of the struct containing clock, or -1. Like Yjs it first
// guesses the index from the clock's share of the client's last clock, then bisects.
func findIndexSS(ss []*item, clock uint64) int {
	right := len(ss) - 1
	if right < 0 {
		return -1
	}
	left := 0
	mid := ss[right]
	if mid.id.Clock == clock {
		return right
	}
	last := mid.id.Clock + mid.length - 1
	var midIndex int
	if last > 0 && clock <= last {
		midIndex = int(float64(clock) / float64(last) * float64(right))
	} else {
		midIndex = right
	}
	for left <= right {
		if midIndex < left || midIndex > right {
			midIndex = (left + right) / 2
		}
		mid = ss[midIndex]
		if mid.id.Clock <= clock {
			if clock < mid.id.Clock+mid.length {
				return midIndex
			}
			left = midIndex + 1
		} else {
			right = midIndex - 1
		}
		midIndex = (left + right) / 2
	}
	return -1
}

// getItem returns the struct containing id, or nil.
func (s *structStore) getItem(id ID) *item {
	ss := s.clients[id.Client]
	i := findIndexSS(ss, id.Clock)
	if i < 0 {
		return nil
	}
	return ss[i]
}

// insertAt inserts it into client's slice at index i.
func (s *structStore) insertAt(client uint64, i int, it *item) {
	ss := s.clients[client]
	ss = append(ss, nil)
	copy(ss[i+1:], ss[i:])
	ss[i] = it
	s.clients[client] = ss
}

// getItemCleanStart returns the struct starting at id, splitting an Item when id falls
// inside it (a GC is returned unsplit).
func (s *structStore) getItemCleanStart(tx *Transaction, id ID) *item {
	ss := s.clients[id.Client]
	i := findIndexSS(ss, id.Clock)
	if i < 0 {
		return nil
	}
	it := ss[i]
	if it.id.Clock < id.Clock && it.isItem() {
		r := splitItem(tx, it, id.Clock-it.id.Clock)
		s.insertAt(id.Client, i+1, r)
		return r
	}
	return it
}

// getItemCleanEnd returns the struct ending at id, splitting an Item when needed.
func (s *structStore) getItemCleanEnd(tx *Transaction, id ID) *item {
	ss := s.clients[id.Client]
	i := findIndexSS(ss, id.Clock)
	if i < 0 {
		return nil
	}
	it := ss[i]
	if id.Clock != it.id.Clock+it.length-1 && !it.isGC() {
		r := splitItem(tx, it, id.Clock-it.id.Clock+1)
		s.insertAt(id.Client, i+1, r)
	}
	return it
}

// reserve makes room for n more structs of client, so that integrating a large update grows
// the client's slice once instead of by repeated doubling.
func (s *structStore) reserve(client uint64, n int) {
	if n < 16 {
		return
	}
	ss := s.clients[client]
	if cap(ss)-len(ss) >= n {
		return
	}
	grown := make([]*item, len(ss), len(ss)+n)
	copy(grown, ss)
	s.clients[client] = grown
}

// addStruct appends a struct at the end of its client's slice.
func (s *structStore) addStruct(it *item) {
	s.clients[it.id.Client] = append(s.clients[it.id.Client], it)
}

// replaceStruct puts n where old was.
func (s *structStore) replaceStruct(old, n *item) {
	ss := s.clients[old.id.Client]
	i := findIndexSS(ss, old.id.Clock)
	if i >= 0 {
		ss[i] = n
	}
}

// tryToMergeWithLefts merges structs[pos] into its left neighbours while possible and
// returns how many merged (SPEC §3.3).
func (s *structStore) tryToMergeWithLefts(client uint64, pos int) int {
	ss := s.clients[client]
	i := pos
	for ; i > 0; i-- {
		left, right := ss[i-1], ss[i]
		if left.deleted() != right.deleted() || left.isGC() != right.isGC() {
			break
		}
		if !left.mergeWith(right) {
			break
		}
		if right.isItem() && right.has(flagParentSub) && right.parent != nil && right.parent.m[right.parentSub()] == right {
			right.parent.m[right.parentSub()] = left
		}
		if p := right.parent; right.isItem() && p != nil && p.mp == right {
			// the marker's item is absorbed: point at the merged item
			p.mp = left
			if !left.deleted() && left.countable() {
				p.mIdx -= left.length - right.length
			}
		}
	}
	merged := pos - i
	if merged > 0 {
		// remove ss[pos+1-merged : pos+1]
		from := pos + 1 - merged
		ss = append(ss[:from], ss[pos+1:]...)
		for j := len(ss); j < len(ss)+merged; j++ {
			ss[:j+1][j] = nil
		}
		s.clients[client] = ss
	}
	return merged
}
