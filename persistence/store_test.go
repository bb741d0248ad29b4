package persistence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/persistence"
)

// concatBuild is a stand-in state builder for storage tests: the "state" of a document is
// the concatenation of its updates. It keeps these tests independent of the crdt package.
func concatBuild(base []byte, tail []persistence.Record) ([]byte, error) {
	out := append([]byte{}, base...)
	for _, r := range tail {
		if bytes.Equal(r.Update, []byte("bad")) {
			return nil, errors.New("does not apply")
		}
		out = append(out, r.Update...)
	}
	return out, nil
}

// content is what a Loaded amounts to under concatBuild.
func content(t *testing.T, l *persistence.Loaded) string {
	t.Helper()
	b, err := concatBuild(l.Snapshot, l.Tail)
	require.NoError(t, err)
	return string(b)
}

type storeCase struct {
	name string
	open func(t *testing.T, opts persistence.Options) *persistence.Store
}

// testLogger shows warnings and errors only.
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// storeCases are the stores every shared test runs against.
func storeCases() []storeCase {
	return []storeCase{
		{"bolt", func(t *testing.T, opts persistence.Options) *persistence.Store {
			if opts.Logger == nil {
				opts.Logger = testLogger
			}
			s, err := persistence.Open(filepath.Join(t.TempDir(), "tandem.db"), opts)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, s.Close()) })
			return s
		}},
		{"memory", func(t *testing.T, opts persistence.Options) *persistence.Store {
			if opts.Logger == nil {
				opts.Logger = testLogger
			}
			s := persistence.NewMemoryStoreWith(opts)
			t.Cleanup(func() { assert.NoError(t, s.Close()) })
			return s.Store
		}},
	}
}

// forEachStore runs f against each store, with concatBuild and snapshots off unless
// opts says otherwise.
func forEachStore(t *testing.T, opts persistence.Options, f func(t *testing.T, s *persistence.Store)) {
	if opts.SnapshotEvery == 0 {
		opts.SnapshotEvery = -1
	}
	opts = persistence.WithBuilder(opts, concatBuild)
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) { f(t, sc.open(t, opts)) })
	}
}

// appendWait appends and waits for the ack.
func appendWait(t *testing.T, s *persistence.Store, doc string, rec persistence.Record) (uint64, error) {
	t.Helper()
	type ack struct {
		seq uint64
		err error
	}
	ch := make(chan ack, 1)
	s.Append(doc, rec, func(seq uint64, err error) { ch <- ack{seq, err} })
	select {
	case a := <-ch:
		return a.seq, a.err
	case <-time.After(10 * time.Second):
		t.Fatal("no ack within 10s")
		return 0, nil
	}
}

func mustAppend(t *testing.T, s *persistence.Store, doc, update string) uint64 {
	t.Helper()
	seq, err := appendWait(t, s, doc, persistence.Record{Update: []byte(update)})
	require.NoError(t, err)
	return seq
}

func TestStore_AppendLoadHistory(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		l, err := s.Load(ctx, "none")
		require.NoError(t, err)
		assert.Equal(t, &persistence.Loaded{}, l)
		_, err = s.History(ctx, "none", 0, 0)
		assert.ErrorIs(t, err, persistence.ErrNotFound)

		conn := uuid.New()
		when := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		seq, err := appendWait(t, s, "a", persistence.Record{Time: when, ConnID: conn, User: "u", Clients: []uint64{7}, Update: []byte("x")})
		require.NoError(t, err)
		assert.Equal(t, uint64(1), seq)
		assert.Equal(t, uint64(2), mustAppend(t, s, "a", "y"))
		assert.Equal(t, uint64(1), mustAppend(t, s, "b", "z"))

		l, err = s.Load(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, uint64(2), l.LastSeq)
		assert.Equal(t, "xy", content(t, l))
		require.Len(t, l.Tail, 2)
		assert.Equal(t, persistence.Record{Seq: 1, Time: when, ConnID: conn, User: "u", Clients: []uint64{7}, Update: []byte("x")}, l.Tail[0])
		assert.False(t, l.Tail[1].Time.IsZero(), "store fills in the time")

		h, err := s.History(ctx, "a", 2, 0)
		require.NoError(t, err)
		require.Len(t, h, 1)
		assert.Equal(t, "y", string(h[0].Update))

		docs, err := s.Docs(ctx)
		require.NoError(t, err)
		require.Len(t, docs, 2)
		assert.Equal(t, "a", docs[0].Name)
		assert.Equal(t, uint64(2), docs[0].Ops)
		assert.Positive(t, docs[0].Bytes)
		assert.Equal(t, h[0].Time, docs[0].LastEdit)
		assert.Equal(t, "b", docs[1].Name)
	})
}

func TestStore_AppendErrors(t *testing.T) {
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		_, err := appendWait(t, s, "", persistence.Record{})
		assert.ErrorIs(t, err, persistence.ErrInvalid)
		require.NoError(t, s.Close())
		_, err = appendWait(t, s, "a", persistence.Record{})
		assert.ErrorIs(t, err, persistence.ErrClosed)
		_, err = s.Load(context.Background(), "a")
		assert.ErrorIs(t, err, persistence.ErrClosed)
		assert.NoError(t, s.Close(), "second Close")
	})
}

// TestStore_GroupCommit appends from many goroutines to 100 documents: every ack arrives
// exactly once, and each document's seqs are dense and in Append order.
func TestStore_GroupCommit(t *testing.T) {
	const docs, writers, perWriter = 100, 16, 150
	forEachStore(t, persistence.Options{MaxBatch: 64}, func(t *testing.T, s *persistence.Store) {
		var mu sync.Mutex
		seqs := map[string][]uint64{}
		var wg, acks sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					doc := fmt.Sprintf("doc-%03d", (w*perWriter+i)%docs)
					acks.Add(1)
					s.Append(doc, persistence.Record{Update: []byte{byte(w)}}, func(seq uint64, err error) {
						defer acks.Done()
						assert.NoError(t, err)
						mu.Lock()
						seqs[doc] = append(seqs[doc], seq)
						mu.Unlock()
					})
				}
			}()
		}
		wg.Wait()
		acks.Wait()
		total := 0
		for doc, got := range seqs {
			slices.Sort(got)
			for i, seq := range got {
				require.Equal(t, uint64(i+1), seq, "doc %s", doc)
			}
			total += len(got)
		}
		assert.Equal(t, writers*perWriter, total)
		infos, err := s.Docs(context.Background())
		require.NoError(t, err)
		assert.Len(t, infos, docs)
	})
}

// TestStore_AckOrder checks acks of one writer come in Append order with increasing seqs.
func TestStore_AckOrder(t *testing.T) {
	forEachStore(t, persistence.Options{MaxBatch: 7}, func(t *testing.T, s *persistence.Store) {
		var got []uint64
		done := make(chan struct{})
		const n = 500
		for i := range n {
			s.Append("d", persistence.Record{Update: []byte{byte(i)}}, func(seq uint64, err error) {
				assert.NoError(t, err)
				got = append(got, seq) // acks run on the one writer goroutine
				if len(got) == n {
					close(done)
				}
			})
		}
		<-done
		for i, seq := range got {
			require.Equal(t, uint64(i+1), seq)
		}
	})
}

func TestStore_LoadWithAndWithoutSnapshots(t *testing.T) {
	ctx := context.Background()
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			plain := sc.open(t, persistence.WithBuilder(persistence.Options{SnapshotEvery: -1}, concatBuild))
			snapped := sc.open(t, persistence.WithBuilder(persistence.Options{SnapshotEvery: 10, KeepSnapshots: 3}, concatBuild))
			want := ""
			for i := range 95 {
				u := fmt.Sprintf("<%d>", i)
				want += u
				mustAppend(t, plain, "d", u)
				mustAppend(t, snapped, "d", u)
			}
			require.Eventually(t, func() bool {
				info, err := snapped.Info(ctx, "d")
				return err == nil && info.SnapshotSeq > 95-10
			}, 10*time.Second, 5*time.Millisecond, "background snapshot within SnapshotEvery of the end")

			lp, err := plain.Load(ctx, "d")
			require.NoError(t, err)
			ls, err := snapped.Load(ctx, "d")
			require.NoError(t, err)
			assert.Zero(t, lp.SnapshotSeq)
			assert.Greater(t, ls.SnapshotSeq, uint64(95-10))
			assert.Len(t, ls.Tail, int(95-ls.SnapshotSeq))
			assert.Equal(t, want, content(t, lp))
			assert.Equal(t, want, content(t, ls))

			// Old points still load, from an older snapshot or from the start.
			for _, at := range []uint64{1, 9, 10, 55, 95} {
				l1, err := plain.LoadAt(ctx, "d", at)
				require.NoError(t, err)
				l2, err := snapped.LoadAt(ctx, "d", at)
				require.NoError(t, err)
				assert.Equal(t, content(t, l1), content(t, l2), "at %d", at)
				assert.Equal(t, at, l2.LastSeq)
			}
			snaps, err := snapped.Snapshots(ctx, "d")
			require.NoError(t, err)
			assert.LessOrEqual(t, len(snaps), 3, "KeepSnapshots")
			for _, sn := range snaps {
				l, err := plain.LoadAt(ctx, "d", sn.Seq)
				require.NoError(t, err)
				assert.Equal(t, content(t, l), string(sn.State), "snapshot %d", sn.Seq)
			}
		})
	}
}

func TestStore_Compact(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		for i := range 20 {
			mustAppend(t, s, "d", fmt.Sprintf("%c", 'a'+i))
		}
		before, err := s.Load(ctx, "d")
		require.NoError(t, err)

		assert.ErrorIs(t, s.Compact(ctx, "d", 21), persistence.ErrInvalid)
		assert.ErrorIs(t, s.Compact(ctx, "d", 0), persistence.ErrInvalid)
		assert.ErrorIs(t, s.Compact(ctx, "nope", 1), persistence.ErrNotFound)
		require.NoError(t, s.Compact(ctx, "d", 12))

		after, err := s.Load(ctx, "d")
		require.NoError(t, err)
		assert.Equal(t, content(t, before), content(t, after))
		assert.Equal(t, uint64(12), after.SnapshotSeq)
		assert.Len(t, after.Tail, 8)

		info, err := s.Info(ctx, "d")
		require.NoError(t, err)
		assert.Equal(t, uint64(12), info.BaseSeq)
		assert.Equal(t, uint64(8), info.Ops)

		_, err = s.LoadAt(ctx, "d", 11)
		assert.ErrorIs(t, err, persistence.ErrCompacted)
		_, err = s.History(ctx, "d", 5, 0)
		assert.ErrorIs(t, err, persistence.ErrCompacted)
		l, err := s.LoadAt(ctx, "d", 12)
		require.NoError(t, err)
		assert.Equal(t, "abcdefghijkl", content(t, l))

		require.NoError(t, s.Compact(ctx, "d", 5), "at or before the base: no-op")
		require.NoError(t, s.Compact(ctx, "d", 20))
		after, err = s.Load(ctx, "d")
		require.NoError(t, err)
		assert.Equal(t, content(t, before), content(t, after))
		assert.Empty(t, after.Tail)
		snaps, err := s.Snapshots(ctx, "d")
		require.NoError(t, err)
		assert.Len(t, snaps, 1)

		// Appends continue after the base.
		assert.Equal(t, uint64(21), mustAppend(t, s, "d", "!"))
		after, err = s.Load(ctx, "d")
		require.NoError(t, err)
		assert.Equal(t, content(t, before)+"!", content(t, after))
	})
}

func TestStore_CompactRefusesLogThatDoesNotReplay(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		mustAppend(t, s, "d", "a")
		mustAppend(t, s, "d", "bad")
		mustAppend(t, s, "d", "c")
		err := s.Compact(ctx, "d", 3)
		var ce *persistence.CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "d", ce.Doc)
		info, err := s.Info(ctx, "d")
		require.NoError(t, err)
		assert.Zero(t, info.BaseSeq, "nothing deleted")
		assert.Equal(t, uint64(3), info.Ops)
	})
}

func TestStore_CorruptRecordRefusesLoad(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		for i := range 5 {
			mustAppend(t, s, "d", fmt.Sprint(i))
		}
		mustAppend(t, s, "other", "fine")
		require.NoError(t, persistence.FlipByte(s, "d", 3, false, 9))

		l, err := s.Load(ctx, "d")
		assert.Nil(t, l)
		var ce *persistence.CorruptError
		require.ErrorAs(t, err, &ce)
		assert.ErrorIs(t, err, persistence.ErrCorrupt)
		assert.Equal(t, "d", ce.Doc)
		assert.Equal(t, uint64(3), ce.Seq)

		_, err = s.History(ctx, "d", 0, 0)
		assert.ErrorIs(t, err, persistence.ErrCorrupt)
		_, err = s.LoadAt(ctx, "d", 2)
		assert.NoError(t, err, "the prefix before the bad record still loads")
		assert.ErrorIs(t, s.Compact(ctx, "d", 4), persistence.ErrCorrupt)
		_, err = s.Load(ctx, "other")
		assert.NoError(t, err, "other documents are unaffected")
	})
}

func TestStore_MissingRecordRefusesLoad(t *testing.T) {
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		for i := range 5 {
			mustAppend(t, s, "d", fmt.Sprint(i))
		}
		require.NoError(t, persistence.DeleteRecord(s, "d", 5))
		_, err := s.Load(context.Background(), "d")
		var ce *persistence.CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, uint64(5), ce.Seq)
	})
}

func TestStore_CorruptSnapshotRefusesLoad(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		for i := range 5 {
			mustAppend(t, s, "d", fmt.Sprint(i))
		}
		require.NoError(t, s.Compact(ctx, "d", 4))
		require.NoError(t, persistence.FlipByte(s, "d", 4, true, 7))
		_, err := s.Load(ctx, "d")
		var ce *persistence.CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, uint64(4), ce.Seq)
	})
}

func TestStore_SeqAt(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		for i := range 10 {
			_, err := appendWait(t, s, "d", persistence.Record{Time: t0.Add(time.Duration(i) * time.Minute), Update: []byte{'a' + byte(i)}})
			require.NoError(t, err)
		}
		for _, tt := range []struct {
			at   time.Time
			want uint64
		}{
			{t0.Add(-time.Second), 0},
			{t0, 1},
			{t0.Add(90 * time.Second), 2},
			{t0.Add(time.Hour), 10},
		} {
			got, err := s.SeqAt(ctx, "d", tt.at)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "at %v", tt.at)
		}
		require.NoError(t, s.Compact(ctx, "d", 5))
		_, err := s.SeqAt(ctx, "d", t0.Add(90*time.Second))
		assert.ErrorIs(t, err, persistence.ErrCompacted)
		got, err := s.SeqAt(ctx, "d", t0.Add(5*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, uint64(6), got)
	})
}

func TestStore_ExportImport(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		conn := uuid.New()
		for i := range 30 {
			_, err := appendWait(t, s, "src", persistence.Record{ConnID: conn, User: "u", Clients: []uint64{uint64(i)}, Update: []byte{'a' + byte(i%26)}})
			require.NoError(t, err)
		}
		var full bytes.Buffer
		n, err := s.Export(ctx, "src", &full)
		require.NoError(t, err)
		assert.Equal(t, 30, n)

		n, err = s.Import(ctx, "copy", bytes.NewReader(full.Bytes()))
		require.NoError(t, err)
		assert.Equal(t, 30, n)
		h1, err := s.History(ctx, "src", 0, 0)
		require.NoError(t, err)
		h2, err := s.History(ctx, "copy", 0, 0)
		require.NoError(t, err)
		assert.Equal(t, h1, h2, "records keep seq and metadata")

		_, err = s.Import(ctx, "copy", bytes.NewReader(full.Bytes()))
		assert.ErrorIs(t, err, persistence.ErrExists)

		// A compacted document travels with its base snapshot.
		require.NoError(t, s.Compact(ctx, "src", 10))
		var compacted bytes.Buffer
		_, err = s.Export(ctx, "src", &compacted)
		require.NoError(t, err)
		_, err = s.Import(ctx, "copy2", &compacted)
		require.NoError(t, err)
		l1, err := s.Load(ctx, "src")
		require.NoError(t, err)
		l2, err := s.Load(ctx, "copy2")
		require.NoError(t, err)
		assert.Equal(t, content(t, l1), content(t, l2))
		info, err := s.Info(ctx, "copy2")
		require.NoError(t, err)
		assert.Equal(t, uint64(10), info.BaseSeq)
		assert.Equal(t, uint64(31), mustAppend(t, s, "copy2", "z"))

		// Damaged files change nothing.
		b := full.Bytes()
		damaged := map[string][]byte{
			"empty":     nil,
			"magic":     append([]byte("XANDEMX"), b[7:]...),
			"truncated": b[:len(b)-3],
			"no end":    b[:len(b)-2],
			"trailing":  append(append([]byte{}, b...), 0),
			"flipped":   append(append(append([]byte{}, b[:40]...), b[40]^1), b[41:]...),
		}
		for name, file := range damaged {
			_, err := s.Import(ctx, "bad-"+name, bytes.NewReader(file))
			assert.ErrorIs(t, err, persistence.ErrBadFormat, name)
			_, err = s.Info(ctx, "bad-"+name)
			assert.ErrorIs(t, err, persistence.ErrNotFound, name)
		}
	})
}

func TestStore_ImportRefusesUpdatesThatDoNotReplay(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		mustAppend(t, s, "src", "a")
		mustAppend(t, s, "src", "bad")
		var buf bytes.Buffer
		_, err := s.Export(ctx, "src", &buf)
		require.NoError(t, err)
		_, err = s.Import(ctx, "dst", &buf)
		assert.ErrorIs(t, err, persistence.ErrBadFormat)
	})
}

func TestOpen_LockedAndReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	s, err := persistence.Open(path, persistence.Options{NoSync: true, Logger: testLogger})
	require.NoError(t, err)
	mustAppend(t, s, "d", "x")

	_, err = persistence.Open(path, persistence.Options{ReadOnly: true, LockTimeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, persistence.ErrLocked)
	assert.Contains(t, err.Error(), "database is locked by a running server")
	require.NoError(t, s.Close())

	r1, err := persistence.Open(path, persistence.Options{ReadOnly: true, Logger: testLogger})
	require.NoError(t, err)
	defer r1.Close()
	r2, err := persistence.Open(path, persistence.Options{ReadOnly: true, Logger: testLogger})
	require.NoError(t, err, "read-only opens share the lock")
	defer r2.Close()
	_, err = persistence.Open(path, persistence.Options{LockTimeout: 50 * time.Millisecond})
	assert.ErrorIs(t, err, persistence.ErrLocked, "no writer while readers hold it")

	l, err := r1.Load(context.Background(), "d")
	require.NoError(t, err)
	assert.Len(t, l.Tail, 1)
	_, err = appendWait(t, r1, "d", persistence.Record{})
	assert.ErrorIs(t, err, persistence.ErrReadOnly)
	assert.ErrorIs(t, r1.Compact(context.Background(), "d", 1), persistence.ErrReadOnly)

	_, err = persistence.Open(filepath.Join(t.TempDir(), "missing.db"), persistence.Options{ReadOnly: true, Logger: testLogger})
	assert.Error(t, err, "read-only open does not create a file")
}

func TestOpen_ReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	opts := persistence.WithBuilder(persistence.Options{SnapshotEvery: 4, Logger: testLogger}, concatBuild)
	s, err := persistence.Open(path, opts)
	require.NoError(t, err)
	for i := range 10 {
		mustAppend(t, s, "d", fmt.Sprint(i))
	}
	require.NoError(t, s.Close())
	s, err = persistence.Open(path, opts)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, uint64(11), mustAppend(t, s, "d", "x"))
	l, err := s.Load(context.Background(), "d")
	require.NoError(t, err)
	assert.Equal(t, "0123456789x", content(t, l))
}

func TestStore_CompactAtFirstRecord(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, persistence.Options{}, func(t *testing.T, s *persistence.Store) {
		mustAppend(t, s, "d", "a")
		mustAppend(t, s, "d", "b")
		require.NoError(t, s.Compact(ctx, "d", 1))
		l, err := s.Load(ctx, "d")
		require.NoError(t, err)
		assert.Equal(t, uint64(1), l.SnapshotSeq)
		assert.Equal(t, "ab", content(t, l))
	})
}
