package crdt

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Hostile input: mutated vector updates never panic, and a rejected update leaves the Doc
// exactly as it was (same encoded state, same pending data).

func docFingerprint(t *testing.T, d *Doc) []byte {
	t.Helper()
	u, err := d.EncodeStateAsUpdateV2(nil)
	require.NoError(t, err)
	ps, pd := d.HasPending()
	return append(u, boolByte(ps), boolByte(pd))
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func mutate(r *rand.Rand, u []byte) []byte {
	m := bytes.Clone(u)
	if len(m) == 0 {
		return []byte{byte(r.IntN(256))}
	}
	switch r.IntN(5) {
	case 0: // truncate
		return m[:r.IntN(len(m))]
	case 1: // flip bits
		for range 1 + r.IntN(3) {
			m[r.IntN(len(m))] ^= byte(1 << r.IntN(8))
		}
	case 2: // random byte
		m[r.IntN(len(m))] = byte(r.IntN(256))
	case 3: // insert a byte
		i := r.IntN(len(m) + 1)
		m = append(m[:i], append([]byte{byte(r.IntN(256))}, m[i:]...)...)
	default: // delete a byte
		i := r.IntN(len(m))
		m = append(m[:i], m[i+1:]...)
	}
	return m
}

func TestHostile_MutatedUpdates(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 3))
	var cases []vecCase
	for _, c := range loadVectors(t) {
		if c.Kind == "doc" {
			cases = append(cases, c)
		}
	}
	for iter := range 5000 {
		c := &cases[r.IntN(len(cases))]
		v2 := r.IntN(2) == 0
		updates := c.Updates
		if v2 {
			updates = c.UpdatesV2
		}
		d := NewDoc(Options{ClientID: 999999999, DisableGC: !c.GC})
		k := r.IntN(len(updates))
		for _, u := range updates[:k] {
			b, _ := base64.StdEncoding.DecodeString(u)
			applyVec(t, d, b, v2)
		}
		orig, _ := base64.StdEncoding.DecodeString(updates[k])
		bad := mutate(r, orig)
		before := docFingerprint(t, d)
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("iter %d (seed %d): panic on mutated update of %s #%d v2=%v: %v\n%x", iter, seed, c.Name, k, v2, p, bad)
				}
			}()
			if v2 {
				err = d.ApplyUpdateV2(bad)
			} else {
				err = d.ApplyUpdate(bad)
			}
			if err == nil {
				// a valid-looking update: the doc must still encode and decode
				if v2 {
					full, e := d.EncodeStateAsUpdateV2(nil)
					require.NoError(t, e)
					require.NoError(t, NewDoc(Options{}).ApplyUpdateV2(full), "iter %d (seed %d)", iter, seed)
				} else {
					full, e := d.EncodeStateAsUpdate(nil)
					require.NoError(t, e)
					require.NoError(t, NewDoc(Options{}).ApplyUpdate(full), "iter %d (seed %d)", iter, seed)
				}
				_ = d.ToJSON()
			}
		}()
		if err != nil {
			require.Equal(t, before, docFingerprint(t, d), "iter %d (seed %d): doc changed by a rejected update", iter, seed)
		}
	}
}
