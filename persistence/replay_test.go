package persistence_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// editor is a client document whose updates go to a store, as docsync would append them.
type editor struct {
	t   *testing.T
	doc *crdt.Doc
	s   *persistence.Store
	ids []uint64 // seqs acknowledged
}

func newEditor(t *testing.T, s *persistence.Store, name string, clientID uint64) *editor {
	e := &editor{t: t, doc: crdt.NewDoc(crdt.Options{ClientID: clientID}), s: s}
	e.doc.OnUpdate(func(update []byte, _ any) {
		seq, err := appendWait(t, s, name, persistence.Record{User: "tester", Clients: []uint64{clientID}, Update: update})
		require.NoError(t, err)
		e.ids = append(e.ids, seq)
	})
	return e
}

func (e *editor) insert(i int, s string) {
	e.doc.Transact(nil, func(tx *crdt.Transaction) { e.doc.Text("content").Insert(tx, i, s, nil) })
}

func (e *editor) delete(i, n int) {
	e.doc.Transact(nil, func(tx *crdt.Transaction) { e.doc.Text("content").Delete(tx, i, n) })
}

func (e *editor) set(k string, v any) {
	e.doc.Transact(nil, func(tx *crdt.Transaction) { e.doc.Map("meta").Set(tx, k, v) })
}

// randomEdits makes n seeded edits to text "content" and map "meta".
func (e *editor) randomEdits(r *rand.Rand, n int) {
	for i := range n {
		l := e.doc.Text("content").Len()
		switch k := r.IntN(10); {
		case k < 6 || l == 0:
			e.insert(r.IntN(l+1), fmt.Sprintf("w%d ", i))
		case k < 9:
			e.delete(r.IntN(l), 1+r.IntN(min(3, l)))
		default:
			e.set(fmt.Sprintf("k%d", r.IntN(5)), float64(i))
		}
	}
}

func TestLoadDoc_WithAndWithoutSnapshots(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed(t), 3))
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			plain := sc.open(t, persistence.Options{SnapshotEvery: -1})
			snapped := sc.open(t, persistence.Options{SnapshotEvery: 25})
			e1 := newEditor(t, plain, "d", 1)
			e1.randomEdits(r, 300)
			// Replay the same updates into the second store.
			recs, err := plain.History(ctx, "d", 0, 0)
			require.NoError(t, err)
			for _, rec := range recs {
				_, err := appendWait(t, snapped, "d", rec)
				require.NoError(t, err)
			}
			require.Eventually(t, func() bool {
				info, err := snapped.Info(ctx, "d")
				return err == nil && info.SnapshotSeq > uint64(len(recs)-25)
			}, 20*time.Second, 10*time.Millisecond)

			want := e1.doc.ToJSON()
			for _, s := range []*persistence.Store{plain, snapped} {
				d, last, err := persistence.LoadDoc(ctx, s, "d", crdt.Options{})
				require.NoError(t, err)
				assert.Equal(t, uint64(len(recs)), last)
				assert.Equal(t, want, d.ToJSON())
				assert.True(t, maps.Equal(e1.doc.StateVector(), d.StateVector()))
			}
			ls, err := snapped.Load(ctx, "d")
			require.NoError(t, err)
			assert.NotZero(t, ls.SnapshotSeq, "loaded from a snapshot")

			for _, at := range []uint64{1, 50, 137} {
				d1, _, err := persistence.LoadDocAt(ctx, plain, "d", at, crdt.Options{})
				require.NoError(t, err)
				d2, _, err := persistence.LoadDocAt(ctx, snapped, "d", at, crdt.Options{})
				require.NoError(t, err)
				assert.Equal(t, d1.ToJSON(), d2.ToJSON(), "at %d", at)
			}

			rep, err := persistence.Verify(ctx, snapped, "d")
			require.NoError(t, err)
			assert.Positive(t, rep.Snapshots)
			assert.Equal(t, len(recs), rep.Records)

			require.NoError(t, snapped.Compact(ctx, "d", 100))
			d, _, err := persistence.LoadDoc(ctx, snapped, "d", crdt.Options{})
			require.NoError(t, err)
			assert.Equal(t, want, d.ToJSON())
			_, err = persistence.Verify(ctx, snapped, "d")
			require.NoError(t, err)
		})
	}
}

func TestLoadDoc_UpdateThatDoesNotApply(t *testing.T) {
	ctx := context.Background()
	garbage := []byte{0x05, 0xff, 0xff, 0xff}
	require.Error(t, crdt.NewDoc(crdt.Options{}).ApplyUpdate(garbage), "precondition: crdt rejects it")
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		e := newEditor(t, s, "d", 9)
		e.insert(0, "abc")
		e.insert(3, "def")
		_, err := appendWait(t, s, "d", persistence.Record{Update: garbage})
		require.NoError(t, err)
		e.insert(0, "x")

		d, _, err := persistence.LoadDoc(ctx, s, "d", crdt.Options{})
		assert.Nil(t, d)
		var ce *persistence.CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "d", ce.Doc)
		assert.Equal(t, uint64(3), ce.Seq)
		_, err = persistence.Verify(ctx, s, "d")
		assert.ErrorIs(t, err, persistence.ErrCorrupt)
	})
}

func TestVerify_DetectsWrongSnapshot(t *testing.T) {
	ctx := context.Background()
	// A builder that forgets the newest update stores snapshots that do not match the log.
	forgetful := func(base []byte, tail []persistence.Record) ([]byte, error) {
		return persistence.BuildState(base, tail[:len(tail)-1])
	}
	// Background snapshots with the forgetful builder: Verify must notice.
	s2 := persistence.NewMemoryStoreWith(persistence.WithBuilder(persistence.Options{SnapshotEvery: 2, Logger: testLogger}, forgetful))
	defer s2.Close()
	e2 := newEditor(t, s2.Store, "d", 4)
	e2.insert(0, "hello")
	e2.insert(5, " world")
	e2.insert(0, "!")
	require.Eventually(t, func() bool {
		info, err := s2.Info(ctx, "d")
		return err == nil && info.SnapshotSeq > 0
	}, 10*time.Second, 5*time.Millisecond)
	_, err := persistence.Verify(ctx, s2.Store, "d")
	var ce *persistence.CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Error(), "differs")
}

func TestDescribe(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		e := newEditor(t, s, "d", 77)
		e.insert(0, "hello world")
		e.insert(5, ",")
		e.delete(0, 1)
		e.set("title", "Greeting")
		var lines []string
		err := persistence.Describe(ctx, s, "d", 0, 0, func(op persistence.Op) error {
			assert.Equal(t, []uint64{77}, op.Clients)
			assert.Equal(t, "tester", op.User)
			lines = append(lines, fmt.Sprintf("%d %s", op.Seq, strings.Join(op.Changes, "; ")))
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []string{
			`1 inserted "hello world" at 0 in text "content"`,
			`2 inserted "," at 5 in text "content"`,
			`3 deleted 1 characters at 0 in text "content"`,
			`4 set key "title" to "Greeting" in map "meta"`,
		}, lines)

		lines = nil
		require.NoError(t, persistence.Describe(ctx, s, "d", 3, 3, func(op persistence.Op) error {
			lines = append(lines, op.Changes...)
			return nil
		}))
		assert.Equal(t, []string{`deleted 1 characters at 0 in text "content"`}, lines)
	})
}

func TestLoadDoc_BoltReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	s, err := persistence.Open(path, persistence.Options{SnapshotEvery: 10, Logger: testLogger})
	require.NoError(t, err)
	e := newEditor(t, s, "d", 5)
	e.randomEdits(rand.New(rand.NewPCG(seed(t), 4)), 40)
	require.NoError(t, s.Close())
	s, err = persistence.Open(path, persistence.Options{ReadOnly: true, Logger: testLogger})
	require.NoError(t, err)
	defer s.Close()
	d, _, err := persistence.LoadDoc(ctx, s, "d", crdt.Options{})
	require.NoError(t, err)
	assert.Equal(t, e.doc.ToJSON(), d.ToJSON())
}
