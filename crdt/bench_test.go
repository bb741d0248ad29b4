package crdt_test

// Benchmarks on the automerge-paper trace (259,778 transactions of one author typing a LaTeX
// paper), the four figures of the performance notes:
//
//	A  BenchmarkReplayLocal    replay as local Text edits, capturing each transaction's update
//	B  BenchmarkApplyUpdates   apply the replay's updates one by one to a fresh doc
//	C  BenchmarkEncodeState    encode the final document's full state (v1)
//	D  BenchmarkLoadState      load a fresh doc from that state; heap held ÷ encoded size
//
// testdata/js/bench.mjs measures the same figures with Yjs on Node. Commands: see
// testdata/traces/README.md.

import (
	"runtime"
	"sync"
	"testing"

	"github.com/tandemsync/tandem/crdt"
)

// benchData is computed once, outside any timer: the replay's updates and final state.
type benchData struct {
	updates [][]byte
	state   []byte
}

var (
	benchOnce sync.Once
	benchVal  *benchData
)

func automergeBenchData(b *testing.B) *benchData {
	b.Helper()
	tr := automergePaper(b)
	benchOnce.Do(func() {
		d, updates := replayLocal(tr, true)
		if got := d.Text("text").String(); got != tr.EndContent {
			b.Fatalf("local replay does not reach the trace's endContent (%s)", describeTextDiff(got, tr.EndContent))
		}
		state, err := d.EncodeStateAsUpdate(nil)
		if err != nil {
			b.Fatalf("EncodeStateAsUpdate: %v", err)
		}
		benchVal = &benchData{updates: updates, state: state}
	})
	if benchVal == nil {
		b.Fatal("benchmark data could not be prepared")
	}
	return benchVal
}

func BenchmarkReplayLocal(b *testing.B) {
	tr := automergePaper(b)
	b.ReportAllocs()
	var updates [][]byte
	for b.Loop() {
		_, updates = replayLocal(tr, true)
	}
	b.ReportMetric(float64(len(updates)), "updates")
	b.ReportMetric(float64(totalLen(updates)), "update-bytes")
}

func BenchmarkApplyUpdates(b *testing.B) {
	tr := automergePaper(b)
	data := automergeBenchData(b)
	b.ReportAllocs()
	var d *crdt.Doc
	for b.Loop() {
		d = crdt.NewDoc(crdt.Options{ClientID: 2})
		for i, u := range data.updates {
			if err := d.ApplyUpdate(u); err != nil {
				b.Fatalf("update %d: %v", i, err)
			}
		}
	}
	if got := d.Text("text").String(); got != tr.EndContent {
		b.Fatalf("applying the updates does not reach endContent (%s)", describeTextDiff(got, tr.EndContent))
	}
	b.ReportMetric(float64(len(data.updates)), "updates")
}

func BenchmarkEncodeState(b *testing.B) {
	data := automergeBenchData(b)
	d := crdt.NewDoc(crdt.Options{ClientID: 2})
	for i, u := range data.updates {
		if err := d.ApplyUpdate(u); err != nil {
			b.Fatalf("update %d: %v", i, err)
		}
	}
	b.ReportAllocs()
	var state []byte
	for b.Loop() {
		var err error
		if state, err = d.EncodeStateAsUpdate(nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(state)), "state-bytes")
}

func BenchmarkLoadState(b *testing.B) {
	tr := automergePaper(b)
	data := automergeBenchData(b)

	// Memory held by one loaded doc, measured once outside the timer.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	held := crdt.NewDoc(crdt.Options{ClientID: 2})
	if err := held.ApplyUpdate(data.state); err != nil {
		b.Fatalf("loading the state: %v", err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	if got := held.Text("text").String(); got != tr.EndContent {
		b.Fatalf("the loaded state does not hold endContent (%s)", describeTextDiff(got, tr.EndContent))
	}
	runtime.KeepAlive(held)

	b.ReportAllocs()
	for b.Loop() {
		d := crdt.NewDoc(crdt.Options{ClientID: 2})
		if err := d.ApplyUpdate(data.state); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data.state)), "state-bytes")
	b.ReportMetric(heap, "heap-bytes")
	b.ReportMetric(heap/float64(len(data.state)), "heap/state")
}
