package crdt

import "slices"

// Applying a decoded update (SPEC §3.1; yjs/yjs: src/utils/encoding.js integrateStructs,
// readUpdateV2).

// restStructs are structs that could not be integrated: a v2 update plus the clocks they wait for.
type restStructs struct {
	missing map[uint64]uint64
	update  []byte
	have    map[uint64][]dsRange // clock ranges the update holds (Skips excluded)
}

// integrateStructs integrates the decoded structs, highest client first, draining the readers
// of dependencies through a stack, and returns what must wait.
func integrateStructs(tx *Transaction, s *structStore, table *clientTable[clientRefs]) *restStructs {
	if table.len() == 0 {
		return nil
	}
	refsOf := func(c uint64) *clientRefs {
		r := table.ptr(c)
		if r == nil || r.gone {
			return nil
		}
		return r
	}
	ids := make([]uint64, 0, table.len())
	for _, e := range table.entries {
		ids = append(ids, e.client)
	}
	slices.Sort(ids)
	var stack []*item
	nextTarget := func() *clientRefs {
		for len(ids) > 0 {
			t := refsOf(ids[len(ids)-1])
			if t != nil && t.i < len(t.refs) {
				s.reserve(ids[len(ids)-1], len(t.refs)-t.i)
				return t
			}
			ids = ids[:len(ids)-1]
		}
		return nil
	}
	cur := nextTarget()
	if cur == nil {
		return nil
	}
	var rest map[uint64][]*item
	var missing map[uint64]uint64
	updateMissing := func(client, clock uint64) {
		if missing == nil {
			missing = map[uint64]uint64{}
		}
		if m, ok := missing[client]; !ok || m > clock {
			missing[client] = clock
		}
	}
	var stateBuf [4]clientEntry[uint64]
	state := clientTable[uint64]{entries: stateBuf[:0]} // cached states
	head := cur.refs[cur.i]
	cur.i++
	stackToRest := func() {
		if rest == nil {
			rest = map[uint64][]*item{}
		}
		for _, it := range stack {
			c := it.id.Client
			if r := refsOf(c); r != nil {
				r.i--
				rest[c] = r.refs[r.i:]
				r.gone = true
				r.i = 0
				r.refs = nil
			} else {
				rest[c] = []*item{it}
			}
			ids = slices.DeleteFunc(ids, func(x uint64) bool { return x == c })
		}
		stack = stack[:0]
	}
	for {
		if !head.isSkip() {
			c := head.id.Client
			local, ok := state.get(c)
			if !ok {
				local = s.getState(c)
				state.put(c, local)
			}
			if local < head.id.Clock {
				stack = append(stack, head)
				updateMissing(c, head.id.Clock-1)
				stackToRest()
			} else {
				var dep uint64
				var need bool
				if head.isItem() {
					dep, need = head.getMissing(tx, s)
				}
				if need {
					stack = append(stack, head)
					r := refsOf(dep)
					if r == nil || r.i == len(r.refs) {
						updateMissing(dep, s.getState(dep))
						stackToRest()
					} else {
						head = r.refs[r.i]
						r.i++
						continue
					}
				} else if offset := local - head.id.Clock; offset == 0 || offset < head.length {
					head.integrate(tx, offset)
					state.put(c, head.id.Clock+head.length)
				}
			}
		}
		switch {
		case len(stack) > 0:
			head = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		case cur != nil && cur.i < len(cur.refs):
			head = cur.refs[cur.i]
			cur.i++
		default:
			cur = nextTarget()
			if cur == nil {
				goto done
			}
			head = cur.refs[cur.i]
			cur.i++
		}
	}
done:
	if len(rest) == 0 {
		return nil
	}
	e := newUpdateEncoderV2()
	writeRefsStructs(e, tx.doc, rest)
	e.restEncoder().WriteVarUint(0)
	have := make(map[uint64][]dsRange, len(rest))
	for c, ss := range rest {
		for _, it := range ss {
			if !it.isSkip() {
				have[c] = append(have[c], dsRange{it.id.Clock, it.length})
			}
		}
		have[c] = sortAndMergeRanges(have[c])
	}
	return &restStructs{missing: missing, update: e.toBytes(), have: have}
}

// readUpdate applies a decoded update inside tx, then retries pending structs and pending
// deletes as Yjs does (SPEC §3.1.5).
func (d *Doc) readUpdate(tx *Transaction, u *decodedUpdate) {
	tx.local = false
	s := d.store
	for _, name := range u.roots {
		d.getRoot(name)
	}
	rs := integrateStructs(tx, s, &u.refs)
	// retry is Yjs's rule: a client named in missing passed its clock (checked before the
	// new rest is merged in). extra is ours, see below.
	retry, extra := false, false
	if p := s.pending; p != nil {
		for c, k := range p.missing {
			if k < s.getState(c) {
				retry = true
				break
			}
		}
		if rs != nil {
			s.addRest(rs)
			// Unlike Yjs: when the structs that just went pending and those already
			// pending wait for each other (each arrived before the other), nothing would
			// ever trigger a retry although the pending update now holds the next struct
			// of a client. Retry then, so that any delivery order converges.
			extra = !retry && p.canProgress(s)
		}
	} else if rs != nil {
		s.addRest(rs)
	}
	dsRest := applyDeleteSet(tx, u.ds)
	if s.pendingDs != nil {
		var dsRest2 []byte
		if pd, err := decodePendingDS(s.pendingDs); err == nil {
			dsRest2 = applyDeleteSet(tx, pd)
		}
		switch {
		case dsRest != nil && dsRest2 != nil:
			if merged, err := MergeUpdatesV2([][]byte{dsRest, dsRest2}); err == nil {
				s.pendingDs = merged
			} else {
				s.pendingDs = dsRest2
			}
		case dsRest != nil:
			s.pendingDs = dsRest
		default:
			s.pendingDs = dsRest2
		}
	} else {
		s.pendingDs = dsRest
	}
	if !retry && !extra {
		return
	}
	p := s.pending
	s.pending = nil
	d.reapplyPending(tx, p)
	if extra && s.pending != nil {
		// Yjs would not have retried and would still hold p.missing. Keep those clocks as
		// well as the fresh ones, so that a Doc retries whenever Yjs would (and so never
		// integrates later than Yjs); the fresh ones alone can name a later clock (the
		// retry may have stopped at a struct of the dependency's client that is missing
		// its own predecessor).
		s.pending.mergeMissing(p.missing)
	}
}

// reapplyPending integrates the pending structs p again inside tx, as Yjs's retry does
// (SPEC §3.1.5): what still cannot be integrated becomes the new pending entry with fresh
// missing clocks. s.pending is nil on entry, so the nested readUpdate does not retry again.
func (d *Doc) reapplyPending(tx *Transaction, p *pendingStructs) {
	s := d.store
	pu, err := decodePendingStructs(p.update)
	if err != nil {
		s.pending = p // cannot happen: the Doc wrote the update itself
		return
	}
	d.readUpdate(tx, pu)
	for _, b := range p.unmerged {
		u, err := decodePendingStructs(b)
		if err != nil {
			s.addRest(&restStructs{update: b}) // cannot happen either; keep the bytes
			continue
		}
		for _, name := range u.roots {
			d.getRoot(name)
		}
		if rs := integrateStructs(tx, s, &u.refs); rs != nil {
			s.addRest(rs)
		}
	}
}

// decodePendingStructs reads a pending v2 update the Doc wrote.
func decodePendingStructs(b []byte) (*decodedUpdate, error) {
	dec, err := newUpdateDecoderV2(b)
	if err != nil {
		return nil, err
	}
	return readUpdateRefs(dec)
}

// decodePendingDS reads a delete-set-only v2 update.
func decodePendingDS(b []byte) (*decodedDS, error) {
	dec, err := newUpdateDecoderV2(b)
	if err != nil {
		return nil, err
	}
	if _, err := dec.restDecoder().ReadVarUint(); err != nil {
		return nil, err
	}
	return readDeleteSet(dec)
}
