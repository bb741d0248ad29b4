package main

// Golden test: a real editing history (crdt/testdata/traces/automerge-paper.json.gz) is sent
// through `tandem serve` as y-websocket updates, the server is stopped gracefully, and
// `tandem replay` must print exactly the text the history ends with.

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
)

// goldenTracePath is the trace, relative to this package's directory.
var goldenTracePath = filepath.Join("..", "..", "crdt", "testdata", "traces", "automerge-paper.json.gz")

// goldenTrace is (a prefix of) an editing trace in the josephg/editing-traces format.
type goldenTrace struct {
	EndContent string
	Txns       [][]goldenPatch
	Complete   bool // every transaction of the file was read
}

// goldenPatch is one [pos, del, ins] edit; pos and del count Unicode code points.
type goldenPatch struct {
	Pos, Del int
	Ins      string
}

// readGoldenTrace loads the first limit transactions (all when limit ≤ 0) of a gzipped
// trace, decoding the file only as far as needed. Only ASCII inserts are accepted, so that
// code-point positions are also the UTF-16 positions crdt.Text takes.
func readGoldenTrace(path string, limit int) (*goldenTrace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(zr)
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != want {
			return fmt.Errorf("%s: want %v, got %v", path, want, tok)
		}
		return nil
	}
	if err := expect('{'); err != nil {
		return nil, err
	}
	tr := &goldenTrace{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case "startContent":
			var start string
			if err := dec.Decode(&start); err != nil {
				return nil, err
			}
			if start != "" {
				return nil, fmt.Errorf("%s: start content is not supported", path)
			}
		case "endContent":
			if err := dec.Decode(&tr.EndContent); err != nil {
				return nil, err
			}
		case "txns":
			if err := expect('['); err != nil {
				return nil, err
			}
			for dec.More() {
				if limit > 0 && len(tr.Txns) == limit {
					return tr, nil // the rest is not needed
				}
				var txn struct {
					Patches [][3]any `json:"patches"`
				}
				if err := dec.Decode(&txn); err != nil {
					return nil, fmt.Errorf("txn %d: %w", len(tr.Txns), err)
				}
				var patches []goldenPatch
				for _, p := range txn.Patches {
					pos, ok1 := p[0].(float64)
					del, ok2 := p[1].(float64)
					ins, ok3 := p[2].(string)
					if !ok1 || !ok2 || !ok3 || pos < 0 || del < 0 {
						return nil, fmt.Errorf("txn %d: bad patch %v", len(tr.Txns), p)
					}
					if utf8.RuneCountInString(ins) != len(ins) {
						return nil, fmt.Errorf("txn %d: non-ASCII insert is not supported", len(tr.Txns))
					}
					patches = append(patches, goldenPatch{Pos: int(pos), Del: int(del), Ins: ins})
				}
				tr.Txns = append(tr.Txns, patches)
			}
			if err := expect(']'); err != nil {
				return nil, err
			}
			tr.Complete = true
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
	}
	return tr, nil
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// traceClient is the client id of the trace's edits.
const traceClient = 3141592653

// traceUpdates replays the first n transactions of tr as local edits of the text "content"
// and returns the update of each transaction, its progress key (see progressKey) and the
// text at the end.
func traceUpdates(tr *goldenTrace, n int) ([][]byte, []uint64, string) {
	d := crdt.NewDoc(crdt.Options{ClientID: traceClient})
	var ups [][]byte
	d.OnUpdate(func(u []byte, _ any) { ups = append(ups, append([]byte(nil), u...)) })
	text := d.Text("content")
	keys := make([]uint64, 0, n)
	for _, txn := range tr.Txns[:n] {
		before := len(ups)
		d.Transact(nil, func(tx *crdt.Transaction) {
			for _, p := range txn {
				if p.Del > 0 {
					text.Delete(tx, p.Pos, p.Del)
				}
				if p.Ins != "" {
					text.Insert(tx, p.Pos, p.Ins, nil)
				}
			}
		})
		if len(ups) > before {
			keys = append(keys, progressKey(d))
		}
	}
	return ups, keys, text.String()
}

// progressKey is the number of characters the single trace client has inserted plus the
// number deleted. Every update of the trace inserts or deletes, so the key grows with each
// one: it tells how many of the updates a document holds.
func progressKey(d *crdt.Doc) uint64 {
	inserted := d.StateVector()[traceClient]
	return 2*inserted - uint64(d.Text("content").Len())
}

func TestServe_TraceReplaysToFinalText(t *testing.T) {
	limit := 0 // the whole trace
	switch {
	case testing.Short():
		limit = 3000
	case raceEnabled() && os.Getenv("CI") != "true":
		// The race detector slows the server about fivefold; the whole trace takes about
		// three minutes then, which CI spends but a local run need not.
		limit = 50000
	}
	if s := os.Getenv("TANDEM_GOLDEN_TXNS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "TANDEM_GOLDEN_TXNS")
		limit = v
	}
	// The writer keeps at most window updates unacknowledged, as a client typing quickly
	// would; 0 sends without waiting.
	window := 128
	if s := os.Getenv("TANDEM_GOLDEN_WINDOW"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "TANDEM_GOLDEN_WINDOW")
		window = v
	}
	readStart := time.Now()
	tr, err := readGoldenTrace(goldenTracePath, limit)
	if os.IsNotExist(err) {
		t.Skipf("trace %s not present", goldenTracePath)
	}
	require.NoError(t, err)
	n := len(tr.Txns)
	ups, keys, want := traceUpdates(tr, n)
	if tr.Complete {
		require.Equal(t, tr.EndContent, want, "the local replay reaches the trace's end content")
	}
	t.Logf("%d transactions (whole trace: %v), %d updates, final text %d characters; read and replayed locally in %v",
		n, tr.Complete, len(ups), len(want), time.Since(readStart))

	const doc = "paper"
	db := filepath.Join(t.TempDir(), "t.db")
	srv := startServe(t, db)
	ctx := context.Background()

	// The reader applies what the server broadcasts (only durable updates) to its own
	// document, off the read loop so that it never makes the server wait, and publishes how
	// many of the trace's updates it holds.
	var (
		mu       sync.Mutex // guards queue
		queue    [][]byte
		wake     = make(chan struct{}, 1)
		progress = make(chan struct{}, 1)
		acked    atomic.Int64 // updates the reader holds
		mmu      sync.Mutex   // guards mirror
		mirror   = crdt.NewDoc(crdt.Options{})
		stop     = make(chan struct{})
		done     = make(chan struct{})
	)
	defer func() { close(stop); <-done }()
	// The applier ends when stop is closed (deferred above).
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-wake:
			}
			mu.Lock()
			batch := queue
			queue = nil
			mu.Unlock()
			mmu.Lock()
			for _, u := range batch {
				if err := mirror.ApplyUpdate(u); err != nil {
					panic(fmt.Sprintf("reader: received update does not apply: %v", err))
				}
			}
			k := progressKey(mirror)
			mmu.Unlock()
			acked.Store(int64(sort.Search(len(keys), func(i int) bool { return keys[i] > k })))
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}()
	reader, err := dialPeer(ctx, srv.addr, doc, []byte{0}, func(p *wsPeer, sub uint64, payload []byte) {
		switch sub {
		case subStep1:
			_ = p.send(emptyStep2)
		case subUpdate:
			mu.Lock()
			queue = append(queue, payload)
			mu.Unlock()
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	require.NoError(t, err)
	defer reader.close()
	require.NoError(t, reader.waitSynced(10*time.Second))

	writer, err := dialPeer(ctx, srv.addr, doc, []byte{0}, func(p *wsPeer, sub uint64, _ []byte) {
		if sub == subStep1 {
			_ = p.send(emptyStep2)
		}
	})
	require.NoError(t, err)
	defer writer.close()
	require.NoError(t, writer.waitSynced(10*time.Second))

	start := time.Now()
	for i, u := range ups {
		for window > 0 && i-int(acked.Load()) >= window {
			select {
			case <-progress:
			case <-reader.done:
				t.Fatalf("reader connection ended after %d updates\n%s", acked.Load(), srv.log())
			case <-time.After(30 * time.Second):
				t.Fatalf("no progress for 30 s at update %d (reader holds %d)\n%s", i, acked.Load(), srv.log())
			}
		}
		require.NoError(t, writer.send(syncMsg(subUpdate, u)), "update %d after %v\n%s", i, time.Since(start), srv.log())
	}
	sent := time.Since(start)
	// Wait until the reader holds the whole text: then every update was acknowledged.
	for deadline := time.Now().Add(time.Minute); acked.Load() < int64(len(ups)); {
		select {
		case <-progress:
		case <-reader.done:
			t.Fatalf("reader connection ended after %d updates\n%s", acked.Load(), srv.log())
		case <-time.After(time.Until(deadline)):
			t.Fatalf("the reader holds %d of %d updates\n%s", acked.Load(), len(ups), srv.log())
		}
	}
	mmu.Lock()
	got := mirror.Text("content").String()
	mmu.Unlock()
	require.Equal(t, want, got, "the reader's text")
	all := time.Since(start)
	t.Logf("sent %d updates in %v; all broadcast (durable) after %v: %.0f updates/s", len(ups), sent, all, float64(len(ups))/all.Seconds())

	require.NoError(t, srv.interrupt(30*time.Second), "graceful stop\n%s", srv.log())
	out, err := runTandem(t, "replay", "--db", db, "--doc", doc, "--format", "text")
	require.NoError(t, err)
	require.Equal(t, "== content (text) ==\n"+want+"\n", out, "tandem replay prints the trace's text")
	out, err = runTandem(t, "replay", "--db", db, "--doc", doc, "--verify")
	require.NoError(t, err)
	t.Log(out)
}
