package crdt

import "slices"

// Writing structs and whole-document updates (SPEC §2.3, §2.6, §3.6; yjs/yjs:
// src/utils/encoding.js writeClientsStructs, writeStructs, src/structs/Item.js write).

// writeStruct writes one struct from offset on.
func writeStruct(e updateEncoder, d *Doc, it *item, offset uint64) {
	switch {
	case it.isGC():
		e.writeInfo(refGC)
		e.writeLen(it.length - offset)
		return
	case it.isSkip():
		e.writeInfo(refSkip)
		e.restEncoder().WriteVarUint(it.length - offset)
		return
	}
	origin, hasOrigin := it.origin, it.has(flagOrigin)
	if offset > 0 {
		origin, hasOrigin = ID{it.id.Client, it.id.Clock + offset - 1}, true
	}
	info := it.content.ref() & 0x1f
	if hasOrigin {
		info |= 0x80
	}
	if it.has(flagRightOrigin) {
		info |= 0x40
	}
	if it.has(flagParentSub) {
		info |= 0x20
	}
	e.writeInfo(info)
	if hasOrigin {
		e.writeLeftID(origin)
	}
	if it.has(flagRightOrigin) {
		e.writeRightID(it.rightOrigin)
	}
	if !hasOrigin && !it.has(flagRightOrigin) {
		switch {
		case it.parent != nil && it.parent.item == nil:
			e.writeParentInfo(true)
			e.writeString(it.parent.rootName)
		case it.parent != nil:
			e.writeParentInfo(false)
			e.writeLeftID(it.parent.item.id)
		case it.pref() != nil && it.pref().isRoot:
			e.writeParentInfo(true)
			e.writeString(it.pref().name)
		case it.pref() != nil:
			e.writeParentInfo(false)
			e.writeLeftID(it.pref().id)
		default:
			// An Item without any parent information never reaches an encoder.
			e.writeParentInfo(true)
			e.writeString("")
		}
		if it.has(flagParentSub) {
			e.writeString(it.parentSub())
		}
	}
	it.content.write(e, it.length, offset)
}

// writeStructs writes one client block: structs from clock on.
func writeStructs(e updateEncoder, d *Doc, ss []*item, client, clock uint64) {
	if clock < ss[0].id.Clock {
		clock = ss[0].id.Clock
	}
	start := findIndexSS(ss, clock)
	if start < 0 {
		start = 0
		clock = ss[0].id.Clock
	}
	r := e.restEncoder()
	r.WriteVarUint(uint64(len(ss) - start))
	e.writeClient(client)
	r.WriteVarUint(clock)
	first := ss[start]
	writeStruct(e, d, first, clock-first.id.Clock)
	for _, it := range ss[start+1:] {
		writeStruct(e, d, it, 0)
	}
}

// writeClientsStructs writes every client whose state is ahead of sv, clients descending.
func writeClientsStructs(e updateEncoder, s *structStore, sv StateVector) {
	sm := map[uint64]uint64{}
	for c, k := range sv {
		if s.getState(c) > k {
			sm[c] = k
		}
	}
	for c, ss := range s.clients {
		if _, ok := sv[c]; !ok && len(ss) > 0 {
			sm[c] = 0
		}
	}
	e.restEncoder().WriteVarUint(uint64(len(sm)))
	for _, c := range sortedClientsDesc(sm) {
		writeStructs(e, nil, s.clients[c], c, sm[c])
	}
}

// writeChangedStructs writes a transaction's structs: for each changed client (written in
// descending order), everything from its state before the transaction.
func writeChangedStructs(e updateEncoder, s *structStore, changed []uint64, before *clientTable[uint64]) {
	slices.SortFunc(changed, func(a, b uint64) int { return cmpU64(b, a) })
	e.restEncoder().WriteVarUint(uint64(len(changed)))
	for _, c := range changed {
		k, _ := before.get(c)
		writeStructs(e, nil, s.clients[c], c, k)
	}
}

// writeRefsStructs writes decoded, unintegrated structs (pending rest), clients descending.
func writeRefsStructs(e updateEncoder, d *Doc, rest map[uint64][]*item) {
	n := 0
	for _, ss := range rest {
		if len(ss) > 0 {
			n++
		}
	}
	e.restEncoder().WriteVarUint(uint64(n))
	for _, c := range sortedClientsDesc(rest) {
		ss := rest[c]
		if len(ss) == 0 {
			continue
		}
		r := e.restEncoder()
		r.WriteVarUint(uint64(len(ss)))
		e.writeClient(c)
		r.WriteVarUint(ss[0].id.Clock)
		for _, it := range ss {
			writeStruct(e, d, it, 0)
		}
	}
}

// writeStateAsUpdate writes the store from sv on, and the whole delete set.
func (d *Doc) writeStateAsUpdate(e updateEncoder, sv StateVector) {
	writeClientsStructs(e, d.store, sv)
	deleteSetFromStore(d.store).write(e)
}

// encodeStateAsUpdate encodes the document, or the part a peer with state vector svBytes
// lacks, in v1 or v2, appending pending data through the merge path (SPEC §3.6).
func (d *Doc) encodeStateAsUpdate(svBytes []byte, v2 bool) ([]byte, error) {
	sv := StateVector{}
	if len(svBytes) > 0 {
		var err error
		if sv, err = DecodeStateVector(svBytes); err != nil {
			return nil, err
		}
	}
	var e updateEncoder
	if v2 {
		e = newUpdateEncoderV2()
	} else {
		e = newUpdateEncoderV1()
	}
	d.writeStateAsUpdate(e, sv)
	updates := [][]byte{e.toBytes()}
	s := d.store
	if s.pendingDs == nil && s.pending == nil {
		return updates[0], nil
	}
	if s.pendingDs != nil {
		updates = append(updates, s.pendingDs)
	}
	if s.pending != nil {
		svb := svBytes
		if len(svb) == 0 {
			svb = []byte{0}
		}
		for _, pu := range append([][]byte{s.pending.update}, s.pending.unmerged...) {
			diff, err := DiffUpdateV2(pu, svb)
			if err != nil {
				return nil, err
			}
			updates = append(updates, diff)
		}
	}
	if v2 {
		return MergeUpdatesV2(updates)
	}
	for i := 1; i < len(updates); i++ {
		u, err := ConvertUpdateFormatV2ToV1(updates[i])
		if err != nil {
			return nil, err
		}
		updates[i] = u
	}
	return MergeUpdates(updates)
}
