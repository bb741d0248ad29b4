package crdt

// Golden vectors written by real Yjs 13.6.33 (testdata/yjs/vectors.jsonl; see
// testdata/yjs/README or gen.mjs beside it). This file implements the doc and sync checks of
// the vectors' README, "What a Go test must check".

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// testSeed returns the -seed flag (defined by the package's interop tests; 0 or absent:
// time based) and logs it.
func testSeed(t *testing.T) uint64 {
	var s uint64
	if f := flag.Lookup("seed"); f != nil {
		s, _ = strconv.ParseUint(f.Value.String(), 10, 64)
	}
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -seed=%d)", s, s)
	return s
}

type vecRoot struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type vecStep struct {
	StateVector     string `json:"state_vector"`
	PendingStructs  bool   `json:"pending_structs"`
	PendingDs       bool   `json:"pending_ds"`
	StateAsUpdate   string `json:"state_as_update"`
	StateAsUpdateV2 string `json:"state_as_update_v2"`
}

type vecExpected struct {
	vecStep
	Roots map[string]json.RawMessage `json:"roots"`
}

type vecDiff struct {
	BaseUpdateCount   *int   `json:"base_update_count"`
	TargetStateVector string `json:"target_state_vector"`
	Update            string `json:"update"`
	UpdateV2          string `json:"update_v2"`
}

type vecCase struct {
	Kind           string      `json:"kind"`
	Name           string      `json:"name"`
	GC             bool        `json:"gc"`
	Roots          []vecRoot   `json:"roots"`
	Updates        []string    `json:"updates"`
	UpdatesV2      []string    `json:"updates_v2"`
	Expected       vecExpected `json:"expected"`
	Steps          []vecStep   `json:"steps"`
	Diffs          []vecDiff   `json:"diffs"`
	MergedUpdate   string      `json:"merged_update"`
	MergedUpdateV2 string      `json:"merged_update_v2"`

	// sync cases
	ServerUpdates         []string       `json:"server_updates"`
	ClientUpdates         []string       `json:"client_updates"`
	ServerStep1           string         `json:"server_step1"`
	ClientStep1           string         `json:"client_step1"`
	ServerStep2Reply      string         `json:"server_step2_reply"`
	ClientStep2Reply      string         `json:"client_step2_reply"`
	ServerBroadcastFrames []string       `json:"server_broadcast_frames"`
	FinalStateVector      string         `json:"final_state_vector"`
	FinalText             *string        `json:"final_text"`
	FinalMap              map[string]any `json:"final_map"`
	Frames                []string       `json:"frames"`
	Reason                string         `json:"reason"`
	AuthPermissionDenied  string         `json:"auth_permission_denied"`
	QueryAwareness        string         `json:"query_awareness"`
}

func loadVectors(t *testing.T) []vecCase {
	t.Helper()
	f, err := os.Open("testdata/yjs/vectors.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out []vecCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<20), 64<<20)
	for sc.Scan() {
		var c vecCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		out = append(out, c)
	}
	require.NoError(t, sc.Err())
	return out
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// --- tagged JSON: both sides are turned into a canonical value compared with DeepEqual ---

type tag struct{ kind, val string }

// canonExpected converts a value decoded by encoding/json from the tagged JSON of the file.
func canonExpected(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, tv := range x {
				switch k {
				case "$number":
					return tag{"number", tv.(string)}
				case "$bigint":
					return tag{"bigint", tv.(string)}
				case "$bytes":
					return tag{"bytes", tv.(string)}
				case "$undefined":
					return tag{"undefined", ""}
				case "$doc":
					return tag{"doc", tv.(string)}
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = canonExpected(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonExpected(e)
		}
		return out
	}
	return v
}

// canonActual converts a Go value from the document.
func canonActual(v any) any {
	switch x := v.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return tag{"number", "NaN"}
		case math.IsInf(x, 1):
			return tag{"number", "Infinity"}
		case math.IsInf(x, -1):
			return tag{"number", "-Infinity"}
		case x == 0 && math.Signbit(x):
			return tag{"number", "-0"}
		}
		return x
	case lib0.BigInt:
		return tag{"bigint", fmt.Sprint(int64(x))}
	case []byte:
		return tag{"bytes", base64.StdEncoding.EncodeToString(x)}
	case lib0.Undefined:
		return tag{"undefined", ""}
	case *SubDoc:
		return tag{"doc", x.GUID}
	case lib0.Object:
		out := map[string]any{}
		for _, f := range x {
			out[f.Key] = canonActual(f.Value)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = canonActual(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonActual(e)
		}
		return out
	}
	if b := branchOf(v); b != nil {
		return canonActual(b.toJSON())
	}
	return v
}

func canonDelta(ds []Delta) []any {
	out := []any{}
	for _, d := range ds {
		m := map[string]any{"insert": canonActual(d.Insert)}
		if d.Attributes != nil {
			m["attributes"] = canonActual(d.Attributes)
		}
		out = append(out, m)
	}
	return out
}

// checkRoots compares the document's roots with the expected ones, as values.
func checkRoots(t *testing.T, d *Doc, c *vecCase, label string) {
	t.Helper()
	for _, r := range c.Roots {
		var exp map[string]any
		require.NoError(t, json.Unmarshal(c.Expected.Roots[r.Name], &exp), "%s: root %s", label, r.Name)
		switch r.Type {
		case "text":
			tx := d.Text(r.Name)
			assert.Equal(t, exp["text"], tx.String(), "%s: text %s", label, r.Name)
			assert.Equal(t, canonExpected(exp["delta"]), canonDelta(tx.Delta()), "%s: delta %s", label, r.Name)
		case "map":
			assert.Equal(t, canonExpected(exp["json"]), canonActual(d.Map(r.Name).ToJSON()), "%s: map %s", label, r.Name)
		case "array":
			assert.Equal(t, canonExpected(exp["json"]), canonActual(d.Array(r.Name).ToJSON()), "%s: array %s", label, r.Name)
		case "xmlfragment":
			assert.Equal(t, exp["xml"], d.XmlFragment(r.Name).String(), "%s: xml %s", label, r.Name)
		default:
			t.Fatalf("unknown root type %q", r.Type)
		}
	}
}

func applyVec(t *testing.T, d *Doc, u []byte, v2 bool) {
	t.Helper()
	var err error
	if v2 {
		err = d.ApplyUpdateV2(u)
	} else {
		err = d.ApplyUpdate(u)
	}
	require.NoError(t, err)
}

func mustEncode(t *testing.T, d *Doc, sv []byte, v2 bool) []byte {
	t.Helper()
	var u []byte
	var err error
	if v2 {
		u, err = d.EncodeStateAsUpdateV2(sv)
	} else {
		u, err = d.EncodeStateAsUpdate(sv)
	}
	require.NoError(t, err)
	return u
}

func newVecDoc(c *vecCase) *Doc {
	return NewDoc(Options{ClientID: 999999999, DisableGC: !c.GC})
}

// runRecorded is doc checks 1 (v1) and 2 (v2).
func runRecorded(t *testing.T, c *vecCase, v2 bool) {
	updates := c.Updates
	if v2 {
		updates = c.UpdatesV2
	}
	d := newVecDoc(c)
	for i, u := range updates {
		applyVec(t, d, b64(t, u), v2)
		st := c.Steps[i]
		assert.Equal(t, b64(t, st.StateVector), d.EncodeStateVector(), "step %d state vector", i)
		ps, pd := d.HasPending()
		assert.Equal(t, st.PendingStructs, ps, "step %d pending structs", i)
		assert.Equal(t, st.PendingDs, pd, "step %d pending ds", i)
		if st.StateAsUpdate != "" {
			assert.Equal(t, b64(t, st.StateAsUpdate), mustEncode(t, d, nil, false), "step %d state_as_update", i)
		}
		if st.StateAsUpdateV2 != "" {
			assert.Equal(t, b64(t, st.StateAsUpdateV2), mustEncode(t, d, nil, true), "step %d state_as_update_v2", i)
		}
	}
	e := c.Expected
	assert.Equal(t, b64(t, e.StateVector), d.EncodeStateVector(), "final state vector")
	assert.Equal(t, b64(t, e.StateAsUpdate), mustEncode(t, d, nil, false), "final state_as_update")
	assert.Equal(t, b64(t, e.StateAsUpdateV2), mustEncode(t, d, nil, true), "final state_as_update_v2")
	ps, pd := d.HasPending()
	assert.False(t, ps || pd, "pending at the end")
	checkRoots(t, d, c, "recorded")
	for di, df := range c.Diffs {
		sv := b64(t, df.TargetStateVector)
		assert.Equal(t, b64(t, df.Update), mustEncode(t, d, sv, false), "diff %d v1", di)
		assert.Equal(t, b64(t, df.UpdateV2), mustEncode(t, d, sv, true), "diff %d v2", di)
		if df.BaseUpdateCount != nil {
			base := newVecDoc(c)
			for _, u := range updates[:*df.BaseUpdateCount] {
				applyVec(t, base, b64(t, u), v2)
			}
			assert.Equal(t, sv, base.EncodeStateVector(), "diff %d base state vector", di)
			if v2 {
				applyVec(t, base, b64(t, df.UpdateV2), true)
			} else {
				applyVec(t, base, b64(t, df.Update), false)
			}
			assert.Equal(t, b64(t, e.StateVector), base.EncodeStateVector(), "diff %d: base+diff state vector", di)
			ps, _ := base.HasPending()
			assert.False(t, ps, "diff %d: base+diff pending", di)
			checkRoots(t, base, c, fmt.Sprintf("diff %d base+diff", di))
		}
	}
}

// referenceDS returns the delete set of the recorded-order document.
func dsString(d *Doc) string {
	ds := deleteSetFromStore(d.store)
	return fmt.Sprint(sortedDS(ds))
}

func sortedDS(ds *deleteSet) []string {
	var out []string
	for _, c := range sortedClientsDesc(ds.clients) {
		out = append(out, fmt.Sprint(c, ds.clients[c]))
	}
	return out
}

func TestVectors_Doc(t *testing.T) {
	seed := testSeed(t)
	for _, c := range loadVectors(t) {
		if c.Kind != "doc" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			t.Run("v1", func(t *testing.T) { runRecorded(t, &c, false) })
			t.Run("v2", func(t *testing.T) { runRecorded(t, &c, true) })
			t.Run("merged", func(t *testing.T) {
				d := newVecDoc(&c)
				applyVec(t, d, b64(t, c.MergedUpdate), false)
				assert.Equal(t, b64(t, c.Expected.StateVector), d.EncodeStateVector())
				checkRoots(t, d, &c, "merged v1")
				d2 := newVecDoc(&c)
				applyVec(t, d2, b64(t, c.MergedUpdateV2), true)
				assert.Equal(t, b64(t, c.Expected.StateVector), d2.EncodeStateVector())
				checkRoots(t, d2, &c, "merged v2")
				var us [][]byte
				for _, u := range c.Updates {
					us = append(us, b64(t, u))
				}
				m, err := MergeUpdates(us)
				require.NoError(t, err)
				assert.Equal(t, b64(t, c.MergedUpdate), m, "MergeUpdates bytes")
			})
			t.Run("orders", func(t *testing.T) {
				ref := newVecDoc(&c)
				for _, u := range c.Updates {
					applyVec(t, ref, b64(t, u), false)
				}
				refDS := dsString(ref)
				rng := rand.New(rand.NewPCG(seed, uint64(len(c.Name))))
				n := len(c.Updates)
				orders := [][]int{}
				rev := make([]int, n)
				for i := range rev {
					rev[i] = n - 1 - i
				}
				orders = append(orders, rev)
				for range 3 {
					orders = append(orders, rng.Perm(n))
				}
				for oi, ord := range orders {
					for _, v2 := range []bool{false, true} {
						d := newVecDoc(&c)
						for _, i := range ord {
							u := c.Updates[i]
							if v2 {
								u = c.UpdatesV2[i]
							}
							applyVec(t, d, b64(t, u), v2)
						}
						label := fmt.Sprintf("order %d v2=%v %v", oi, v2, ord)
						ps, pd := d.HasPending()
						assert.False(t, ps || pd, "%s: pending", label)
						assert.Equal(t, b64(t, c.Expected.StateVector), d.EncodeStateVector(), "%s: state vector", label)
						assert.Equal(t, refDS, dsString(d), "%s: delete set", label)
						checkRoots(t, d, &c, label)
					}
				}
			})
		})
	}
}

func syncFrame(kind byte, payload []byte) []byte {
	var e lib0.Encoder
	e.WriteVarUint(0)
	e.WriteVarUint(uint64(kind))
	e.WriteVarUint8Array(payload)
	return bytes.Clone(e.Bytes())
}

func readSyncFrame(t *testing.T, f []byte) (byte, []byte) {
	t.Helper()
	d := lib0.NewDecoder(f)
	mt, err := d.ReadVarUint()
	require.NoError(t, err)
	require.Equal(t, uint64(0), mt)
	k, err := d.ReadVarUint()
	require.NoError(t, err)
	p, err := d.ReadVarUint8Array()
	require.NoError(t, err)
	return byte(k), p
}

func TestVectors_Sync(t *testing.T) {
	for _, c := range loadVectors(t) {
		if c.Kind != "sync" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if c.Name == "sync_update_frames" {
				for i, u := range c.Updates {
					assert.Equal(t, b64(t, c.Frames[i]), syncFrame(2, b64(t, u)))
				}
				return
			}
			if c.Name == "auth_and_query_awareness_frames" {
				d := lib0.NewDecoder(b64(t, c.AuthPermissionDenied))
				mt, err := d.ReadVarUint()
				require.NoError(t, err)
				kind, err := d.ReadVarUint()
				require.NoError(t, err)
				reason, err := d.ReadVarString()
				require.NoError(t, err)
				assert.Equal(t, []any{uint64(2), uint64(0), c.Reason, 0}, []any{mt, kind, reason, d.Remaining()})
				assert.Equal(t, []byte{3}, b64(t, c.QueryAwareness))
				return
			}
			require.NotEmpty(t, c.ServerStep1, "unknown sync case")
			server, client := NewDoc(Options{ClientID: 1}), NewDoc(Options{ClientID: 2})
			for _, u := range c.ServerUpdates {
				applyVec(t, server, b64(t, u), false)
			}
			for _, u := range c.ClientUpdates {
				applyVec(t, client, b64(t, u), false)
			}
			assert.Equal(t, b64(t, c.ServerStep1), syncFrame(0, server.EncodeStateVector()), "server step1")
			assert.Equal(t, b64(t, c.ClientStep1), syncFrame(0, client.EncodeStateVector()), "client step1")
			_, csv := readSyncFrame(t, b64(t, c.ClientStep1))
			serverReply := syncFrame(1, mustEncode(t, server, csv, false))
			assert.Equal(t, b64(t, c.ServerStep2Reply), serverReply, "server step2")
			_, ssv := readSyncFrame(t, b64(t, c.ServerStep1))
			clientReply := syncFrame(1, mustEncode(t, client, ssv, false))
			if c.ClientStep2Reply != "" {
				assert.Equal(t, b64(t, c.ClientStep2Reply), clientReply, "client step2")
			}
			if c.FinalStateVector == "" {
				return
			}
			var frames [][]byte
			server.OnUpdate(func(u []byte, _ any) { frames = append(frames, syncFrame(2, u)) })
			_, cu := readSyncFrame(t, clientReply)
			applyVec(t, server, cu, false)
			var want [][]byte
			for _, f := range c.ServerBroadcastFrames {
				want = append(want, b64(t, f))
			}
			assert.Equal(t, want, frames, "server broadcast frames")
			_, su := readSyncFrame(t, serverReply)
			applyVec(t, client, su, false)
			for _, d := range []*Doc{server, client} {
				assert.Equal(t, b64(t, c.FinalStateVector), d.EncodeStateVector())
				if c.FinalText != nil {
					assert.Equal(t, *c.FinalText, d.Text("text").String())
				}
				if c.FinalMap != nil {
					assert.True(t, reflect.DeepEqual(canonExpected(any(c.FinalMap)), canonActual(d.Map("m").ToJSON())), "final map %v", d.Map("m").ToJSON())
				}
			}
		})
	}
}
