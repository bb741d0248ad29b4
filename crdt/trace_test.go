package crdt_test

// Loading the editing traces in testdata/traces (see the README there for format, source and
// licence) and replaying them as local Text edits.

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tandemsync/tandem/crdt"
)

// traceEdit is one patch of a trace, with positions already converted to UTF-16 code units.
type traceEdit struct {
	Pos, Del int // UTF-16 code units
	Ins      string
}

// editTrace is a sequential editing trace: transactions of edits applied one after another.
type editTrace struct {
	Name         string
	StartContent string
	EndContent   string
	Txns         [][]traceEdit
	Edits        int
}

// loadTrace reads testdata/traces/<name>.json.gz. The file counts positions in Unicode code
// points; loadTrace converts them to the UTF-16 code units a Yjs-style API takes.
func loadTrace(tb testing.TB, name string) *editTrace {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "traces", name+".json.gz"))
	if err != nil {
		tb.Fatalf("open trace: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("trace %s: %v", name, err)
	}
	var raw struct {
		StartContent string `json:"startContent"`
		EndContent   string `json:"endContent"`
		Txns         []struct {
			Patches [][3]any `json:"patches"`
		} `json:"txns"`
	}
	if err := json.NewDecoder(zr).Decode(&raw); err != nil {
		tb.Fatalf("decode trace %s: %v", name, err)
	}
	tr := &editTrace{Name: name, StartContent: raw.StartContent, EndContent: raw.EndContent}
	// doc mirrors the text in code points so that code-point positions can be converted. When
	// the whole trace is ASCII the two counts agree and the mirror is skipped.
	ascii := isASCII(raw.StartContent)
	for _, txn := range raw.Txns {
		for _, p := range txn.Patches {
			if s, ok := p[2].(string); !ok || !isASCII(s) {
				ascii = false
			}
		}
	}
	var doc []rune
	if !ascii {
		doc = []rune(raw.StartContent)
	}
	for i, txn := range raw.Txns {
		edits := make([]traceEdit, 0, len(txn.Patches))
		for _, p := range txn.Patches {
			pos, ok1 := p[0].(float64)
			del, ok2 := p[1].(float64)
			ins, ok3 := p[2].(string)
			if !ok1 || !ok2 || !ok3 || pos < 0 || del < 0 {
				tb.Fatalf("trace %s: txn %d: bad patch %v", name, i, p)
			}
			e := traceEdit{Pos: int(pos), Del: int(del), Ins: ins}
			if !ascii {
				cp, cd := int(pos), int(del)
				if cp+cd > len(doc) {
					tb.Fatalf("trace %s: txn %d: patch %v beyond the text (%d code points)", name, i, p, len(doc))
				}
				e.Pos, e.Del = utf16Units(doc[:cp]), utf16Units(doc[cp:cp+cd])
				doc = append(doc[:cp], append([]rune(ins), doc[cp+cd:]...)...)
			}
			edits = append(edits, e)
			tr.Edits++
		}
		tr.Txns = append(tr.Txns, edits)
	}
	return tr
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func utf16Units(rs []rune) int {
	n := 0
	for _, r := range rs {
		n += utf16Len(r)
	}
	return n
}

var (
	automergeOnce  sync.Once
	automergeTrace *editTrace
)

// automergePaper returns the automerge-paper trace, loaded once per test binary.
func automergePaper(tb testing.TB) *editTrace {
	tb.Helper()
	automergeOnce.Do(func() { automergeTrace = loadTrace(tb, "automerge-paper") })
	if automergeTrace == nil {
		tb.Fatal("automerge-paper trace failed to load")
	}
	return automergeTrace
}

// traceAuthor is the client id of the replaying doc: fixed, and of the size Yjs picks at random
// (a uint32 above 2^28 takes 5 bytes), so byte counts match a real session. bench.mjs uses it too.
const traceAuthor = 3141592653

// replayLocal applies every transaction of tr as one local transaction on the Text root "text"
// of a fresh doc with client id traceAuthor. If capture is true it returns the update each
// transaction emitted.
func replayLocal(tr *editTrace, capture bool) (*crdt.Doc, [][]byte) {
	d := crdt.NewDoc(crdt.Options{ClientID: traceAuthor})
	var updates [][]byte
	if capture {
		updates = make([][]byte, 0, len(tr.Txns))
		d.OnUpdate(func(u []byte, _ any) { updates = append(updates, u) })
	}
	text := d.Text("text")
	if tr.StartContent != "" {
		d.Transact(nil, func(tx *crdt.Transaction) { text.Insert(tx, 0, tr.StartContent, nil) })
	}
	for _, txn := range tr.Txns {
		d.Transact(nil, func(tx *crdt.Transaction) {
			for _, e := range txn {
				if e.Del > 0 {
					text.Delete(tx, e.Pos, e.Del)
				}
				if e.Ins != "" {
					text.Insert(tx, e.Pos, e.Ins, nil)
				}
			}
		})
	}
	return d, updates
}

func TestTrace_AutomergePaper_ReplayReachesEndContent(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 260k transactions")
	}
	tr := automergePaper(t)
	d, updates := replayLocal(tr, true)
	if got := d.Text("text").String(); got != tr.EndContent {
		t.Fatalf("local replay: text differs from the trace's endContent (%s)", describeTextDiff(got, tr.EndContent))
	}
	if len(updates) != len(tr.Txns) {
		t.Errorf("local replay emitted %d updates for %d transactions", len(updates), len(tr.Txns))
	}

	// The emitted updates, applied one by one to a fresh doc, give the same text and state.
	remote := crdt.NewDoc(crdt.Options{ClientID: 2})
	for i, u := range updates {
		if err := remote.ApplyUpdate(u); err != nil {
			t.Fatalf("applying update %d of the replay: %v", i, err)
		}
	}
	if got := remote.Text("text").String(); got != tr.EndContent {
		t.Fatalf("applying the replay's updates: text differs from endContent (%s)", describeTextDiff(got, tr.EndContent))
	}

	// The encoded state loads back to the same text and state vector.
	state, err := d.EncodeStateAsUpdate(nil)
	if err != nil {
		t.Fatalf("EncodeStateAsUpdate: %v", err)
	}
	loaded := crdt.NewDoc(crdt.Options{ClientID: 3})
	if err := loaded.ApplyUpdate(state); err != nil {
		t.Fatalf("loading the encoded state: %v", err)
	}
	if got := loaded.Text("text").String(); got != tr.EndContent {
		t.Fatalf("loaded state: text differs from endContent (%s)", describeTextDiff(got, tr.EndContent))
	}
	if sv, want := loaded.StateVector(), d.StateVector(); !maps.Equal(sv, want) {
		t.Errorf("loaded state vector %v, want %v", sv, want)
	}
	t.Logf("%d transactions, %d edits, %d update bytes, state %d bytes", len(tr.Txns), tr.Edits, totalLen(updates), len(state))
}

func totalLen(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	return n
}

// describeTextDiff says where two long texts first differ.
func describeTextDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("lengths %d and %d, first difference at byte %d: got %q, want %q",
		len(got), len(want), i, got[i:min(len(got), i+40)], want[i:min(len(want), i+40)])
}
