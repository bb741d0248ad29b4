package crdt

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Randomized convergence: several Go docs edit concurrently and exchange their updates in
// random orders, with duplicates; all must reach the same content and state vector.

// collectTypes returns every live shared type reachable from the roots.
func collectTypes(d *Doc) []any {
	var out []any
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case *Text:
			out = append(out, x)
		case *Map:
			out = append(out, x)
			for _, k := range x.Keys() {
				e, _ := x.Get(k)
				visit(e)
			}
		case *Array:
			out = append(out, x)
			for i := range x.Len() {
				visit(x.Get(i))
			}
		}
	}
	visit(d.Text("text"))
	visit(d.Map("map"))
	visit(d.Array("array"))
	return out
}

// convWords are inserted at random UTF-16 positions, so they hold no surrogate pairs: a local
// edit that splits a pair without changing anything corrupts only the local replica, in Yjs as
// here (SPEC §3.3), and real editors never split pairs.
var convWords = []string{"a", "bc", "def", "héllo", "x y", "\n"}

func randValue(r *rand.Rand) any {
	switch r.IntN(9) {
	case 0:
		return r.IntN(100)
	case 1:
		return []string{"a", "😀", "héllo", ""}[r.IntN(4)]
	case 2:
		return r.IntN(2) == 0
	case 3:
		return nil
	case 4:
		return map[string]any{"k": r.IntN(5), "l": []any{"x", 1.5}}
	case 5:
		return []byte{byte(r.IntN(256)), 1}
	case 6:
		t := NewText()
		return t
	case 7:
		m := NewMap()
		return m
	default:
		return NewArray()
	}
}

func randAttrs(r *rand.Rand) map[string]any {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return map[string]any{"bold": true}
	case 2:
		return map[string]any{"italic": true, "bold": nil}
	default:
		return map[string]any{"color": convWords[r.IntN(3)]}
	}
}

func randomEdit(r *rand.Rand, tx *Transaction, t any) {
	switch x := t.(type) {
	case *Text:
		n := x.Len()
		switch op := r.IntN(10); {
		case op < 5:
			x.Insert(tx, r.IntN(n+1), convWords[r.IntN(len(convWords))], randAttrs(r))
		case op < 7 && n > 0:
			i := r.IntN(n)
			x.Delete(tx, i, 1+r.IntN(min(4, n-i)))
		case op < 9 && n > 0:
			i := r.IntN(n)
			attrs := randAttrs(r)
			if attrs == nil {
				attrs = map[string]any{"bold": nil}
			}
			x.Format(tx, i, 1+r.IntN(min(4, n-i)), attrs)
		default:
			x.InsertEmbed(tx, r.IntN(n+1), map[string]any{"image": "p.png"}, randAttrs(r))
		}
	case *Map:
		keys := []string{"a", "b", "c", "", "10"}
		k := keys[r.IntN(len(keys))]
		if r.IntN(4) == 0 {
			x.Delete(tx, k)
		} else {
			x.Set(tx, k, randValue(r))
		}
	case *Array:
		n := x.Len()
		switch op := r.IntN(10); {
		case op < 3 && n > 0:
			i := r.IntN(n)
			x.Delete(tx, i, 1+r.IntN(min(3, n-i)))
		case op < 5:
			x.Push(tx, randValue(r), randValue(r))
		default:
			vals := make([]any, 1+r.IntN(3))
			for i := range vals {
				vals[i] = randValue(r)
			}
			x.Insert(tx, r.IntN(n+1), vals...)
		}
	}
}

// docContent is a canonical text of everything a doc shows.
func docContent(t *testing.T, d *Doc) string {
	t.Helper()
	v := map[string]any{
		"text":  d.Text("text").String(),
		"delta": canonDelta(d.Text("text").Delta()),
		"map":   canonActual(d.Map("map").ToJSON()),
		"array": canonActual(d.Array("array").ToJSON()),
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestConvergence_Random(t *testing.T) {
	base := testSeed(t)
	for sc := range 40 {
		seed := base + uint64(sc)
		r := rand.New(rand.NewPCG(seed, 7))
		gc := sc%3 != 2
		ndocs := 3 + r.IntN(2)
		docs := make([]*Doc, ndocs)
		var log [][]byte // every local update
		for i := range docs {
			d := NewDoc(Options{ClientID: uint64(10 + i*3 + r.IntN(2)), DisableGC: !gc})
			d.OnUpdate(func(u []byte, origin any) {
				if origin == "local" {
					log = append(log, u)
				}
			})
			docs[i] = d
		}
		steps := 30 + r.IntN(40)
		for range steps {
			d := docs[r.IntN(ndocs)]
			if len(log) > 0 && r.IntN(3) == 0 {
				// deliver a few random updates (possibly duplicates, any order)
				for range 1 + r.IntN(4) {
					u := log[r.IntN(len(log))]
					require.NoError(t, d.ApplyUpdate(u), "seed %d", seed)
				}
				continue
			}
			d.Transact("local", func(tx *Transaction) {
				for range 1 + r.IntN(3) {
					ts := collectTypes(d)
					randomEdit(r, tx, ts[r.IntN(len(ts))])
				}
			})
		}
		// Everyone gets everything, in a random order with duplicates.
		for _, d := range docs {
			perm := r.Perm(len(log))
			for _, i := range perm {
				require.NoError(t, d.ApplyUpdate(log[i]), "seed %d", seed)
				if r.IntN(5) == 0 {
					require.NoError(t, d.ApplyUpdate(log[r.IntN(len(log))]), "seed %d", seed)
				}
			}
		}
		fresh := NewDoc(Options{ClientID: 1})
		for _, i := range r.Perm(len(log)) {
			require.NoError(t, fresh.ApplyUpdate(log[i]))
		}
		full, err := docs[0].EncodeStateAsUpdateV2(nil)
		require.NoError(t, err)
		fromV2 := NewDoc(Options{ClientID: 2})
		require.NoError(t, fromV2.ApplyUpdateV2(full))
		all := append(append([]*Doc{}, docs...), fresh, fromV2)
		want := docContent(t, docs[0])
		wantSV := fmt.Sprint(docs[0].StateVector())
		for i, d := range all {
			ps, pd := d.HasPending()
			assert.False(t, ps || pd, "seed %d doc %d pending", seed, i)
			assert.Equal(t, want, docContent(t, d), "seed %d doc %d content", seed, i)
			assert.Equal(t, wantSV, fmt.Sprint(d.StateVector()), "seed %d doc %d state vector", seed, i)
		}
		if t.Failed() {
			t.Fatalf("scenario seed %d failed (rerun with -seed=%d)", seed, seed)
		}
	}
}
