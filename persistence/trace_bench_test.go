package persistence_test

// BenchmarkLoadTraceLog: loading a document whose log holds the 259,778 updates of the
// automerge-paper editing trace (../crdt/testdata/traces), with and without snapshots.

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

var benchTracePath = filepath.Join("..", "crdt", "testdata", "traces", "automerge-paper.json.gz")

// benchTrace holds the trace's updates, made once for every sub-benchmark.
var benchTrace struct {
	once    sync.Once
	updates [][]byte
	text    string
	err     error
}

// traceBenchUpdates replays the trace (ASCII: code points are UTF-16 units) as local edits of
// the text "content", one transaction per trace transaction, and returns their updates and
// the final text, which must equal the trace's end content.
func traceBenchUpdates(b *testing.B) ([][]byte, string) {
	benchTrace.once.Do(func() {
		f, err := os.Open(benchTracePath)
		if err != nil {
			benchTrace.err = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			benchTrace.err = err
			return
		}
		var raw struct {
			EndContent string `json:"endContent"`
			Txns       []struct {
				Patches [][3]any `json:"patches"`
			} `json:"txns"`
		}
		if err := json.NewDecoder(zr).Decode(&raw); err != nil {
			benchTrace.err = err
			return
		}
		d := crdt.NewDoc(crdt.Options{ClientID: 3141592653})
		d.OnUpdate(func(u []byte, _ any) {
			benchTrace.updates = append(benchTrace.updates, append([]byte(nil), u...))
		})
		text := d.Text("content")
		for i, txn := range raw.Txns {
			d.Transact(nil, func(tx *crdt.Transaction) {
				for _, p := range txn.Patches {
					pos, ok1 := p[0].(float64)
					del, ok2 := p[1].(float64)
					ins, ok3 := p[2].(string)
					if !ok1 || !ok2 || !ok3 {
						benchTrace.err = fmt.Errorf("txn %d: bad patch %v", i, p)
						return
					}
					if del > 0 {
						text.Delete(tx, int(pos), int(del))
					}
					if ins != "" {
						text.Insert(tx, int(pos), ins, nil)
					}
				}
			})
		}
		benchTrace.text = text.String()
		if benchTrace.text != raw.EndContent {
			benchTrace.err = fmt.Errorf("local replay does not reach the end content")
		}
	})
	if os.IsNotExist(benchTrace.err) {
		b.Skipf("trace %s not present", benchTracePath)
	}
	require.NoError(b, benchTrace.err)
	return benchTrace.updates, benchTrace.text
}

// BenchmarkLoadTraceLog measures persistence.LoadDoc of a document whose log holds every
// update of the automerge-paper trace (259,778 records): "log-only" replays the whole log
// (no snapshots), "snapshots" loads the newest background snapshot (default SnapshotEvery,
// 1000) and the records after it. The log is built with NoSync; loading reopens the file
// read-only.
func BenchmarkLoadTraceLog(b *testing.B) {
	for _, tc := range []struct {
		name  string
		every int
	}{
		{"log-only", -1},
		{"snapshots", 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			updates, want := traceBenchUpdates(b)
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "trace.db")
			s, err := persistence.Open(path, persistence.Options{NoSync: true, SnapshotEvery: tc.every, Logger: quiet})
			require.NoError(b, err)
			window := make(chan struct{}, 1024)
			var acks sync.WaitGroup
			var failed error
			var fmu sync.Mutex
			for _, u := range updates {
				window <- struct{}{}
				acks.Add(1)
				s.Append("paper", persistence.Record{Clients: []uint64{3141592653}, Update: u}, func(_ uint64, err error) {
					if err != nil {
						fmu.Lock()
						failed = err
						fmu.Unlock()
					}
					<-window
					acks.Done()
				})
			}
			acks.Wait()
			require.NoError(b, failed)
			info, err := s.Info(ctx, "paper")
			require.NoError(b, err)
			require.Equal(b, uint64(len(updates)), info.LastSeq)
			if tc.every >= 0 {
				require.Eventually(b, func() bool {
					info, err := s.Info(ctx, "paper")
					return err == nil && info.LastSeq-info.SnapshotSeq < 1000
				}, 5*time.Minute, 20*time.Millisecond, "background snapshots catch up")
			}
			require.NoError(b, s.Close())
			s, err = persistence.Open(path, persistence.Options{ReadOnly: true, Logger: quiet})
			require.NoError(b, err)
			defer s.Close()
			info, err = s.Info(ctx, "paper")
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				d, seq, err := persistence.LoadDoc(ctx, s, "paper", crdt.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if seq != info.LastSeq || d.Text("content").String() != want {
					b.Fatalf("loaded seq %d, text differs: %v", seq, d.Text("content").String() != want)
				}
			}
			// After the loop: b.Loop's first call drops metrics reported before it.
			b.ReportMetric(float64(info.LastSeq), "records")
			b.ReportMetric(float64(info.LastSeq-info.SnapshotSeq), "replayed-records")
		})
	}
}
