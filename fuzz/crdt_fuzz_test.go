package fuzz

import (
	"bytes"
	"testing"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/crdt/lib0"
)

// maxInput bounds the size of one fuzz input; the server's frame limit is far larger, but
// hangs and blow-ups show up on small inputs first.
const maxInput = 1 << 16

// baseDoc returns a Doc holding some content, so that fuzzed updates meet existing structs.
func baseDoc(t *testing.T) *crdt.Doc {
	t.Helper()
	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	d.Transact(nil, func(tx *crdt.Transaction) {
		d.Text("text").Insert(tx, 0, "hello world", nil)
		d.Map("map").Set(tx, "k", "v")
		d.Array("array").Push(tx, 1.0, "two")
	})
	return d
}

// snapshot captures everything a refused update must leave unchanged.
func snapshot(t *testing.T, d *crdt.Doc) []byte {
	t.Helper()
	u, err := d.EncodeStateAsUpdate(nil)
	if err != nil {
		t.Fatalf("encode state: %v", err)
	}
	structs, ds := d.HasPending()
	return append(append(u, d.EncodeStateVector()...), boolByte(structs), boolByte(ds))
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func fuzzApply(f *testing.F, v2 bool) {
	kind := "v1"
	if v2 {
		kind = "v2"
	}
	for _, s := range vectorSeeds(f, kind) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxInput {
			return
		}
		d := baseDoc(t)
		before := snapshot(t, d)
		var err error
		if v2 {
			err = d.ApplyUpdateV2(data)
		} else {
			err = d.ApplyUpdate(data)
		}
		if err != nil {
			if after := snapshot(t, d); !bytes.Equal(before, after) {
				t.Fatalf("refused update changed the doc: %v", err)
			}
			return
		}
		// Accepted: the doc's own encoding must load into a fresh doc with the same content.
		state, err := d.EncodeStateAsUpdate(nil)
		if err != nil {
			t.Fatalf("encode after accepted update: %v", err)
		}
		d2 := crdt.NewDoc(crdt.Options{ClientID: 2})
		if err := d2.ApplyUpdate(state); err != nil {
			t.Fatalf("own encoding refused: %v", err)
		}
		if a, b := d.EncodeStateVector(), d2.EncodeStateVector(); !bytes.Equal(a, b) {
			t.Fatalf("state vector differs after round trip: %x vs %x", a, b)
		}
	})
}

// FuzzApplyUpdate applies arbitrary bytes as a v1 update to a Doc with content.
func FuzzApplyUpdate(f *testing.F) { fuzzApply(f, false) }

// FuzzApplyUpdateV2 applies arbitrary bytes as a v2 update to a Doc with content.
func FuzzApplyUpdateV2(f *testing.F) { fuzzApply(f, true) }

// FuzzDecodeStateVector decodes state vectors; an accepted one must round-trip.
func FuzzDecodeStateVector(f *testing.F) {
	for _, s := range vectorSeeds(f, "sv") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxInput {
			return
		}
		sv, err := crdt.DecodeStateVector(data)
		if err != nil {
			return
		}
		sv2, err := crdt.DecodeStateVector(sv.Encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if len(sv) != len(sv2) {
			t.Fatalf("round trip changed the vector: %v vs %v", sv, sv2)
		}
		for c, k := range sv {
			if sv2[c] != k {
				t.Fatalf("round trip changed client %d: %d vs %d", c, k, sv2[c])
			}
		}
	})
}

// FuzzReadAny decodes lib0 `any` values; an accepted value must re-encode to bytes that
// decode and re-encode to themselves (decoding normalises, so the first encoding may differ).
func FuzzReadAny(f *testing.F) {
	for _, s := range vectorSeeds(f, "any") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxInput {
			return
		}
		v, err := lib0.NewDecoder(data).ReadAny()
		if err != nil {
			return
		}
		var e1 lib0.Encoder
		e1.WriteAny(v)
		v2, err := lib0.NewDecoder(e1.Bytes()).ReadAny()
		if err != nil {
			t.Fatalf("own encoding refused: %v", err)
		}
		var e2 lib0.Encoder
		e2.WriteAny(v2)
		if !bytes.Equal(e1.Bytes(), e2.Bytes()) {
			t.Fatalf("encoding not stable: %x vs %x", e1.Bytes(), e2.Bytes())
		}
	})
}

// FuzzMergeUpdates merges two arbitrary v1 updates; an accepted merge must be a valid update
// whose state vector the update-level reader can compute.
func FuzzMergeUpdates(f *testing.F) {
	seeds := vectorSeeds(f, "v1")
	for i := 0; i+1 < len(seeds); i += 2 {
		f.Add(seeds[i], seeds[i+1])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a)+len(b) > maxInput {
			return
		}
		m, err := crdt.MergeUpdates([][]byte{a, b})
		if err != nil {
			return
		}
		if err := crdt.ValidateUpdate(m); err != nil {
			t.Fatalf("merge produced an invalid update: %v", err)
		}
		if _, err := crdt.EncodeStateVectorFromUpdate(m); err != nil {
			t.Fatalf("state vector of merged update: %v", err)
		}
	})
}
