package persistence_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

var quiet = slog.New(slog.DiscardHandler)

// BenchmarkAppend measures committed (fsynced) records per second: each document is fed
// by its own goroutine keeping up to 64 appends in flight, as a busy document actor would.
// "sequential" waits for each ack before the next append: one fsync per record.
func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		name     string
		docs     int
		inflight int
	}{
		{"docs=1/sequential", 1, 1},
		{"docs=1", 1, 64},
		{"docs=100", 100, 64},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := persistence.Open(filepath.Join(b.TempDir(), "bench.db"), persistence.Options{SnapshotEvery: -1, Logger: quiet})
			require.NoError(b, err)
			defer s.Close()
			update := make([]byte, 64) // a keystroke-sized update with its framing
			conn := uuid.New()
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for d := range tc.docs {
				n := b.N / tc.docs
				if d < b.N%tc.docs {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					doc := fmt.Sprintf("doc-%d", d)
					window := make(chan struct{}, tc.inflight)
					var acks sync.WaitGroup
					for range n {
						window <- struct{}{}
						acks.Add(1)
						s.Append(doc, persistence.Record{ConnID: conn, Clients: []uint64{1}, Update: update}, func(_ uint64, err error) {
							if err != nil {
								panic(err)
							}
							<-window
							acks.Done()
						})
					}
					acks.Wait()
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkLoadDoc measures loading a document whose log holds 20,000 single-character
// edits, from the log alone and from a snapshot plus a short tail.
func BenchmarkLoadDoc(b *testing.B) {
	const edits = 20000
	for _, tc := range []struct {
		name  string
		every int
	}{
		{"log-only", -1},
		{"snapshots", 1000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := persistence.Open(path, persistence.Options{NoSync: true, SnapshotEvery: tc.every, Logger: quiet})
			require.NoError(b, err)
			d := crdt.NewDoc(crdt.Options{ClientID: 1})
			var pending sync.WaitGroup
			d.OnUpdate(func(update []byte, _ any) {
				pending.Add(1)
				s.Append("doc", persistence.Record{Update: update}, func(_ uint64, err error) {
					if err != nil {
						panic(err)
					}
					pending.Done()
				})
			})
			text := d.Text("content")
			for i := range edits {
				d.Transact(nil, func(tx *crdt.Transaction) {
					if i%10 == 9 {
						text.Delete(tx, text.Len()-1, 1)
					} else {
						text.Insert(tx, text.Len()-i%7, string(rune('a'+i%26)), nil)
					}
				})
			}
			pending.Wait()
			if tc.every > 0 {
				require.Eventually(b, func() bool {
					info, err := s.Info(ctx, "doc")
					return err == nil && info.LastSeq-info.SnapshotSeq < uint64(tc.every)
				}, time.Minute, 10*time.Millisecond)
			}
			require.NoError(b, s.Close())
			s, err = persistence.Open(path, persistence.Options{ReadOnly: true, Logger: quiet})
			require.NoError(b, err)
			defer s.Close()
			want := text.String()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				got, _, err := persistence.LoadDoc(ctx, s, "doc", crdt.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if got.Text("content").String() != want {
					b.Fatal("loaded text differs")
				}
			}
		})
	}
}
