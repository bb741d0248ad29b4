package crdt

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// ErrMalformed is returned, wrapped with the field and position, when an update, a delete set
// or a state vector cannot be decoded. It also wraps the lib0 error underneath, if any.
var ErrMalformed = errors.New("crdt: malformed update")

// The update-level functions of SPEC §3.7: they work on encoded updates without a Doc and
// produce the same bytes as Yjs's mergeUpdates, diffUpdate, encodeStateVectorFromUpdate and
// convertUpdateFormat (yjs/yjs: src/utils/updates.js). Every input is decoded whole and
// checked strictly first; an error leaves nothing half written.

// MergeUpdates merges v1 updates into one v1 update, byte for byte as Yjs's mergeUpdates.
// A single update is returned unchanged (as a copy) once it has been checked.
func MergeUpdates(updates [][]byte) ([]byte, error) { return mergeUpdates(updates, false) }

// MergeUpdatesV2 merges v2 updates into one v2 update, byte for byte as Yjs's
// mergeUpdatesV2. A single update is returned unchanged (as a copy) once it has been checked.
func MergeUpdatesV2(updates [][]byte) ([]byte, error) { return mergeUpdates(updates, true) }

// DiffUpdate returns the part of the v1 update that a peer with state vector sv (encoded)
// is missing, like Yjs's diffUpdate. The delete set is kept whole; a client's ranges are
// re-sorted and merged only if they are out of order, which Yjs never writes (SPEC §1.3.6).
func DiffUpdate(update, sv []byte) ([]byte, error) { return diffUpdate(update, sv, false) }

// DiffUpdateV2 is DiffUpdate for v2 updates.
func DiffUpdateV2(update, sv []byte) ([]byte, error) { return diffUpdate(update, sv, true) }

// EncodeStateVectorFromUpdate returns the encoded state vector of the structs a v1 update
// holds, like Yjs's encodeStateVectorFromUpdate: per client section in update order, the end
// of the structs that run contiguously from clock 0 up to the first Skip.
func EncodeStateVectorFromUpdate(update []byte) ([]byte, error) {
	return encodeStateVectorFromUpdate(update, false)
}

// EncodeStateVectorFromUpdateV2 is EncodeStateVectorFromUpdate for a v2 update.
func EncodeStateVectorFromUpdateV2(update []byte) ([]byte, error) {
	return encodeStateVectorFromUpdate(update, true)
}

// ConvertUpdateFormatV1ToV2 re-encodes a v1 update as v2, like Yjs's
// convertUpdateFormatV1ToV2: every struct is rewritten as read, so the parentSub bit (0x20)
// of items with origins is cleared (SPEC §3.7.4).
func ConvertUpdateFormatV1ToV2(update []byte) ([]byte, error) {
	return convertUpdate(update, false, true)
}

// ConvertUpdateFormatV2ToV1 re-encodes a v2 update as v1, like Yjs's convertUpdateFormatV2ToV1.
func ConvertUpdateFormatV2ToV1(update []byte) ([]byte, error) {
	return convertUpdate(update, true, false)
}

// ValidateUpdate decodes a whole v1 update strictly, structs and delete set, without a Doc.
// Besides everything the decoders reject (SPEC §1.5), it rejects a client that appears in
// more than one block.
func ValidateUpdate(update []byte) error {
	u, err := decodeLazyUpdate(update, false, false)
	if err != nil {
		return err
	}
	if u.dupClient {
		return codecError("client in more than one block", nil)
	}
	return nil
}

func convertUpdate(update []byte, fromV2, toV2 bool) ([]byte, error) {
	u, err := decodeLazyUpdate(update, fromV2, false)
	if err != nil {
		return nil, err
	}
	if fromV2 && !toV2 {
		// v1 writes Embed and Format values as JSON text; Yjs's JSON.stringify throws on a
		// bigint and yields no text for undefined, so such a v2 update has no v1 form.
		for _, s := range u.structs {
			if s.kind == lazyKindItem && (s.item.content.ref == lazyRefEmbed || s.item.content.ref == lazyRefFormat) &&
				!lazyJSONWritable(s.item.content.value, true) {
				return nil, codecError(fmt.Sprintf("client %d clock %d: value has no JSON text", s.id.Client, s.id.Clock), nil)
			}
		}
	}
	w := &lazyWriter{enc: newLazyEncoder(toV2)}
	for _, s := range u.structs {
		w.write(s, 0)
	}
	w.finish()
	writeLazyDeleteSet(w.enc, u.ds.normalised())
	return w.enc.toBytes(), nil
}

func diffUpdate(update, sv []byte, v2 bool) ([]byte, error) {
	state, err := readLazyStateVector(sv)
	if err != nil {
		return nil, err
	}
	u, err := decodeLazyUpdate(update, v2, false)
	if err != nil {
		return nil, err
	}
	w := &lazyWriter{enc: newLazyEncoder(v2)}
	structs := u.structs
	for i := 0; i < len(structs); {
		curr := structs[i]
		client := curr.id.Client
		svClock := state[client]
		if curr.kind == lazyKindSkip {
			// A section never starts with a Skip.
			i++
			continue
		}
		if curr.end() > svClock {
			var offset uint64
			if svClock > curr.id.Clock {
				offset = svClock - curr.id.Clock
			}
			w.write(curr, offset)
			for i++; i < len(structs) && structs[i].id.Client == client; i++ {
				w.write(structs[i], 0)
			}
		} else {
			for i < len(structs) && structs[i].id.Client == client && structs[i].end() <= svClock {
				i++
			}
		}
	}
	w.finish()
	writeLazyDeleteSet(w.enc, u.ds.normalised())
	return w.enc.toBytes(), nil
}

func encodeStateVectorFromUpdate(update []byte, v2 bool) ([]byte, error) {
	u, err := decodeLazyUpdate(update, v2, false)
	if err != nil {
		return nil, err
	}
	enc := newDSEncoderV1()
	rest := enc.restEncoder()
	if len(u.structs) == 0 {
		rest.WriteVarUint(0)
		return enc.toBytes(), nil
	}
	type entry struct{ client, clock uint64 }
	var entries []entry
	first := u.structs[0]
	currClient := first.id.Client
	stopCounting := first.id.Clock != 0
	var currClock uint64
	if !stopCounting {
		currClock = first.end()
	}
	for _, s := range u.structs {
		if s.id.Client != currClient {
			if currClock != 0 {
				entries = append(entries, entry{currClient, currClock})
			}
			currClient = s.id.Client
			currClock = 0
			stopCounting = s.id.Clock != 0
		}
		if s.kind == lazyKindSkip {
			stopCounting = true
		}
		if !stopCounting {
			currClock = s.end()
		}
	}
	if currClock != 0 {
		entries = append(entries, entry{currClient, currClock})
	}
	rest.WriteVarUint(uint64(len(entries)))
	for _, e := range entries {
		rest.WriteVarUint(e.client)
		rest.WriteVarUint(e.clock)
	}
	return enc.toBytes(), nil
}

// mergeReader walks the structs of one input of mergeUpdates.
type mergeReader struct {
	structs []*lazyStruct
	i       int
}

func (r *mergeReader) curr() *lazyStruct {
	if r.i < len(r.structs) {
		return r.structs[r.i]
	}
	return nil
}

func (r *mergeReader) next() *lazyStruct {
	r.i++
	return r.curr()
}

// compareMergeReaders is Yjs's sort order for mergeUpdates: client descending, clock
// ascending, then Skip last. Like Yjs's comparator it returns −1 for any two different
// non-Skip kinds at the same position, in both argument orders; jsSort reproduces what V8's
// sort makes of that.
func compareMergeReaders(a, b *mergeReader) int {
	x, y := a.curr(), b.curr()
	if x.id.Client != y.id.Client {
		return cmp.Compare(y.id.Client, x.id.Client)
	}
	if x.id.Clock != y.id.Clock {
		return cmp.Compare(x.id.Clock, y.id.Clock)
	}
	if x.kind == y.kind {
		return 0
	}
	if x.kind == lazyKindSkip {
		return 1
	}
	return -1
}

// mergeUpdates implements SPEC §3.7.2 (mergeUpdatesV2 in Yjs) for one format.
func mergeUpdates(updates [][]byte, v2 bool) ([]byte, error) {
	decoded := make([]*lazyUpdate, len(updates))
	for i, b := range updates {
		u, err := decodeLazyUpdate(b, v2, true)
		if err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		decoded[i] = u
	}
	if len(updates) == 1 {
		return bytes.Clone(updates[0]), nil
	}
	decs := make([]*mergeReader, len(decoded))
	for i, u := range decoded {
		decs[i] = &mergeReader{structs: u.structs}
	}
	w := &lazyWriter{enc: newLazyEncoder(v2)}
	var cur *lazyStruct
	for {
		k := 0
		for _, d := range decs {
			if d.curr() != nil {
				decs[k] = d
				k++
			}
		}
		decs = decs[:k]
		jsSort(decs, compareMergeReaders)
		if len(decs) == 0 {
			break
		}
		d := decs[0]
		firstClient := d.curr().id.Client
		if cur != nil {
			x := d.curr()
			iterated := false
			// Skip what was written already; higher clients come first.
			for x != nil && x.end() <= cur.end() && x.id.Client >= cur.id.Client {
				x = d.next()
				iterated = true
			}
			if x == nil || x.id.Client != firstClient || iterated && x.id.Clock > cur.end() {
				continue
			}
			switch {
			case firstClient != cur.id.Client:
				w.write(cur, 0)
				cur = x
				d.next()
			case cur.end() < x.id.Clock:
				if cur.kind == lazyKindSkip {
					cur.length = x.end() - cur.id.Clock
				} else {
					w.write(cur, 0)
					cur = &lazyStruct{kind: lazyKindSkip, id: ID{Client: firstClient, Clock: cur.end()}, length: x.id.Clock - cur.end()}
				}
			default:
				diff := cur.end() - x.id.Clock
				if diff > 0 {
					if cur.kind == lazyKindSkip {
						if diff >= cur.length {
							return nil, codecError("overlapping structs around a gap", nil)
						}
						cur.length -= diff
					} else {
						x = x.slice(diff)
					}
				}
				if !mergeLazyStructs(cur, x) {
					w.write(cur, 0)
					cur = x
					d.next()
				}
			}
		} else {
			cur = d.curr()
			d.next()
		}
		for next := d.curr(); next != nil && next.id.Client == firstClient && next.id.Clock == cur.end() && next.kind != lazyKindSkip; next = d.next() {
			w.write(cur, 0)
			cur = next
		}
	}
	if cur != nil {
		w.write(cur, 0)
	}
	w.finish()
	dss := make([]lazyDeleteSet, len(decoded))
	for i, u := range decoded {
		dss[i] = u.ds
	}
	writeLazyDeleteSet(w.enc, mergeLazyDeleteSets(dss))
	return w.enc.toBytes(), nil
}

// mergeLazyStructs appends right to left when Yjs's mergeWith would: GC with GC and Skip
// with Skip. Lazily read Items have no neighbours, so Item.mergeWith never succeeds.
func mergeLazyStructs(left, right *lazyStruct) bool {
	if left.kind == lazyKindItem || left.kind != right.kind {
		return false
	}
	left.length += right.length
	return true
}

// readLazyStateVector decodes a state vector for diffUpdate; a repeated client keeps its
// last clock, as a JavaScript Map does.
func readLazyStateVector(sv []byte) (map[uint64]uint64, error) {
	d := newDSDecoderV1(sv).restDecoder()
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, codecError("state vector length", err)
	}
	state := make(map[uint64]uint64)
	for i := uint64(0); i < n; i++ {
		client, err := d.ReadVarUint()
		if err != nil {
			return nil, codecError("state vector client", err)
		}
		clock, err := d.ReadVarUint()
		if err != nil {
			return nil, codecError("state vector clock", err)
		}
		state[client] = clock
	}
	return state, nil
}

// lazyRange is one delete-set range.
type lazyRange struct{ clock, length uint64 }

// lazyDeleteSet maps a client to its ranges, in the order read.
type lazyDeleteSet map[uint64][]lazyRange

// readLazyDeleteSet reads a delete set (readDeleteSet in Yjs): a client that appears twice
// gets the ranges of both; a client with no ranges is not recorded.
func readLazyDeleteSet(d dsDecoder) (lazyDeleteSet, error) {
	rest := d.restDecoder()
	n, err := rest.ReadVarUint()
	if err != nil {
		return nil, codecError("delete set: number of clients", err)
	}
	ds := make(lazyDeleteSet)
	for i := uint64(0); i < n; i++ {
		d.resetDsCurVal()
		client, err := rest.ReadVarUint()
		if err != nil {
			return nil, codecError("delete set client", err)
		}
		numRanges, err := rest.ReadVarUint()
		if err != nil {
			return nil, codecError("delete set: number of ranges", err)
		}
		for j := uint64(0); j < numRanges; j++ {
			clock, err := d.readDsClock()
			if err != nil {
				return nil, err
			}
			length, err := d.readDsLen()
			if err != nil {
				return nil, err
			}
			if length > maxSafeInt-clock {
				return nil, codecError("delete set range out of range", nil)
			}
			ds[client] = append(ds[client], lazyRange{clock, length})
		}
	}
	return ds, nil
}

// lazySortAndMergeRanges sorts ranges by clock and merges those that overlap or touch, dropping
// empty ones (sortAndMergeDeleteSet in Yjs). It reuses rs.
func lazySortAndMergeRanges(rs []lazyRange) []lazyRange {
	k := 0
	for _, r := range rs {
		if r.length > 0 {
			rs[k] = r
			k++
		}
	}
	rs = rs[:k]
	slices.SortStableFunc(rs, func(a, b lazyRange) int { return cmp.Compare(a.clock, b.clock) })
	if len(rs) == 0 {
		return rs
	}
	j := 1
	for i := 1; i < len(rs); i++ {
		left, right := &rs[j-1], rs[i]
		if left.clock+left.length >= right.clock {
			left.length = max(left.length, right.clock+right.length-left.clock)
		} else {
			rs[j] = right
			j++
		}
	}
	return rs[:j]
}

// normalised returns ds ready to write: each client's ranges as read if they are already
// sorted, non-empty and non-overlapping (Yjs re-writes them unchanged), otherwise sorted and
// merged, because the v2 encoding cannot carry a range that goes backwards (SPEC §1.3.6).
func (ds lazyDeleteSet) normalised() lazyDeleteSet {
	out := make(lazyDeleteSet, len(ds))
	for client, rs := range ds {
		ok := true
		for i, r := range rs {
			if r.length == 0 || i > 0 && rs[i-1].clock+rs[i-1].length > r.clock {
				ok = false
				break
			}
		}
		if !ok {
			rs = lazySortAndMergeRanges(slices.Clone(rs))
		}
		if len(rs) > 0 {
			out[client] = rs
		}
	}
	return out
}

// mergeLazyDeleteSets merges delete sets like Yjs's mergeDeleteSets: each client's ranges
// from every set, in set order, then sorted and merged.
func mergeLazyDeleteSets(dss []lazyDeleteSet) lazyDeleteSet {
	merged := make(lazyDeleteSet)
	for _, ds := range dss {
		for client, rs := range ds {
			merged[client] = append(merged[client], rs...)
		}
	}
	for client, rs := range merged {
		rs = lazySortAndMergeRanges(rs)
		if len(rs) == 0 {
			delete(merged, client)
		} else {
			merged[client] = rs
		}
	}
	return merged
}

// writeLazyDeleteSet writes ds with clients descending (writeDeleteSet in Yjs).
// Invariant: ds is normalised (no empty ranges, none going backwards).
func writeLazyDeleteSet(e dsEncoder, ds lazyDeleteSet) {
	clients := make([]uint64, 0, len(ds))
	for c := range ds {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b uint64) int { return cmp.Compare(b, a) })
	rest := e.restEncoder()
	rest.WriteVarUint(uint64(len(clients)))
	for _, c := range clients {
		e.resetDsCurVal()
		rest.WriteVarUint(c)
		rs := ds[c]
		rest.WriteVarUint(uint64(len(rs)))
		for _, r := range rs {
			e.writeDsClock(r.clock)
			e.writeDsLen(r.length)
		}
	}
}

// lazyJSONWritable reports whether JSON.stringify gives a text for v: not undefined at the top
// level and no bigint anywhere (JSON.stringify throws on one).
func lazyJSONWritable(v any, top bool) bool {
	switch x := v.(type) {
	case lib0.Undefined:
		return !top
	case lib0.BigInt:
		return false
	case []any:
		for _, e := range x {
			if !lazyJSONWritable(e, false) {
				return false
			}
		}
	case lib0.Object:
		for _, f := range x {
			if !lazyJSONWritable(f.Value, false) {
				return false
			}
		}
	}
	return true
}
