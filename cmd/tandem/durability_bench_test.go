package main

// What durable-before-broadcast costs, measured through a real sync server (docsync with a
// persistence store, in this process) and real WebSocket clients:
//
//	go test -run '^$' -bench 'BroadcastLatency|CommittedUpdates' -benchtime 2000x ./cmd/tandem
//
// BenchmarkBroadcastLatency: one update in flight at a time; the time from the writer's send
// to the reader's receipt, with fsync, without fsync (NoSync) and with the in-memory store.
// The difference of the fsync and NoSync percentiles is the latency durability adds.
// BenchmarkCommittedUpdates: updates per second acknowledged (fsynced and broadcast) with 1
// and 100 documents edited at once.

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

// benchServer is a sync server on a loopback listener, backed by the named store kind:
// "fsync" (bbolt file), "nosync" (bbolt file, NoSync) or "memory".
type benchServer struct {
	addr  string
	srv   *docsync.Server
	hs    *httptest.Server
	store interface{ Close() error }
}

func newBenchServer(b *testing.B, kind string) *benchServer {
	b.Helper()
	var store interface {
		docsync.Store
		Close() error
	}
	path := filepath.Join(b.TempDir(), "bench.db")
	switch kind {
	case "fsync":
		s, err := persistence.Open(path, persistence.Options{Logger: quietLog})
		require.NoError(b, err)
		store = s
	case "nosync":
		s, err := persistence.Open(path, persistence.Options{NoSync: true, Logger: quietLog})
		require.NoError(b, err)
		store = s
	case "memory":
		store = persistence.NewMemoryStoreWith(persistence.Options{Logger: quietLog})
	default:
		b.Fatalf("unknown store %q", kind)
	}
	srv, err := docsync.New(docsync.Options{Store: store, Logger: quietLog})
	require.NoError(b, err)
	hs := httptest.NewServer(srv)
	return &benchServer{addr: strings.TrimPrefix(hs.URL, "http://"), srv: srv, hs: hs, store: store}
}

func (s *benchServer) close(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(b, s.srv.Shutdown(ctx))
	s.hs.Close()
	require.NoError(b, s.store.Close())
}

// keystrokes returns n updates of client typing one character at the end of the text "t".
func keystrokes(client uint64, n int) [][]byte {
	d := crdt.NewDoc(crdt.Options{ClientID: client})
	ups := make([][]byte, 0, n)
	d.OnUpdate(func(u []byte, _ any) { ups = append(ups, bytes.Clone(u)) })
	text := d.Text("t")
	for i := range n {
		d.Transact(nil, func(tx *crdt.Transaction) { text.Insert(tx, i, string(rune('a'+i%26)), nil) })
	}
	return ups
}

// quietPeer answers the server's step 1 as an empty client and passes update payloads to f.
func quietPeer(f func(payload []byte)) syncHandler {
	return func(p *wsPeer, sub uint64, payload []byte) {
		switch sub {
		case subStep1:
			_ = p.send(emptyStep2)
		case subUpdate:
			if f != nil {
				f(payload)
			}
		}
	}
}

func dialSynced(b *testing.B, addr, doc string, h syncHandler) *wsPeer {
	b.Helper()
	p, err := dialPeer(context.Background(), addr, doc, []byte{0}, h)
	require.NoError(b, err)
	require.NoError(b, p.waitSynced(10*time.Second))
	return p
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func BenchmarkBroadcastLatency(b *testing.B) {
	for _, kind := range []string{"fsync", "nosync", "memory"} {
		b.Run(kind, func(b *testing.B) {
			s := newBenchServer(b, kind)
			defer s.close(b)
			got := make(chan time.Time, 1)
			reader := dialSynced(b, s.addr, "lat", quietPeer(func([]byte) { got <- time.Now() }))
			defer reader.close()
			writer := dialSynced(b, s.addr, "lat", quietPeer(nil))
			defer writer.close()
			ups := keystrokes(1, b.N)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				sent := time.Now()
				if err := writer.send(syncMsg(subUpdate, ups[i])); err != nil {
					b.Fatal(err)
				}
				select {
				case at := <-got:
					lat = append(lat, at.Sub(sent))
				case <-time.After(10 * time.Second):
					b.Fatalf("update %d not broadcast", i)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(percentile(lat, 50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(percentile(lat, 99).Microseconds()), "p99-µs")
		})
	}
}

// benchWindow is how many updates a benchmark writer keeps unacknowledged. A writer that
// does not wait at all makes the server close its readers with 1013 (see
// /work/notes/durability_findings.md), so the writers behave like fast typists with a bound.
const benchWindow = 128

func BenchmarkCommittedUpdates(b *testing.B) {
	for _, docs := range []int{1, 100} {
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			s := newBenchServer(b, "fsync")
			defer s.close(b)
			type lane struct {
				ups      [][]byte
				acked    atomic.Int64 // updates the reader holds
				progress chan struct{}
				mirror   *crdt.Doc // touched only by the reader's read loop
				reader   *wsPeer
				writer   *wsPeer
			}
			lanes := make([]*lane, docs)
			for d := range lanes {
				n := b.N / docs
				if d < b.N%docs {
					n++
				}
				l := &lane{ups: keystrokes(uint64(d+1), n), progress: make(chan struct{}, 1), mirror: crdt.NewDoc(crdt.Options{})}
				client := uint64(d + 1)
				doc := fmt.Sprintf("doc-%d", d)
				l.reader = dialSynced(b, s.addr, doc, quietPeer(func(u []byte) {
					if err := l.mirror.ApplyUpdate(u); err != nil {
						panic(err)
					}
					l.acked.Store(int64(l.mirror.StateVector()[client]))
					select {
					case l.progress <- struct{}{}:
					default:
					}
				}))
				l.writer = dialSynced(b, s.addr, doc, quietPeer(nil))
				lanes[d] = l
			}
			defer func() {
				for _, l := range lanes {
					l.reader.close()
					l.writer.close()
				}
			}()
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make([]error, docs)
			for d, l := range lanes {
				wg.Add(1)
				// Each lane's writer ends when the reader holds all its updates, or fails.
				go func() {
					defer wg.Done()
					errs[d] = runLane(l.writer, l.reader, l.ups, &l.acked, l.progress)
				}()
			}
			wg.Wait()
			b.StopTimer()
			for _, err := range errs {
				require.NoError(b, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}

// runLane sends ups with at most benchWindow unacknowledged and returns when the reader
// holds them all.
func runLane(writer, reader *wsPeer, ups [][]byte, acked *atomic.Int64, progress <-chan struct{}) error {
	wait := func(until int) error {
		for int(acked.Load()) < until {
			select {
			case <-progress:
			case <-reader.done:
				return fmt.Errorf("reader closed at %d of %d", acked.Load(), len(ups))
			case <-time.After(30 * time.Second):
				return fmt.Errorf("no progress at %d of %d", acked.Load(), len(ups))
			}
		}
		return nil
	}
	for i, u := range ups {
		if err := wait(i - benchWindow + 1); err != nil {
			return err
		}
		if err := writer.send(syncMsg(subUpdate, u)); err != nil {
			return err
		}
	}
	return wait(len(ups))
}
