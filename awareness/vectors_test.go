package awareness_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/awareness"
	"github.com/tandemsync/tandem/crdt/lib0"
)

// vectorsPath holds the golden vectors written by real Yjs (see crdt/testdata/yjs).
const vectorsPath = "../crdt/testdata/yjs/vectors.jsonl"

type applyRulesCase struct {
	Steps []struct {
		Label       string       `json:"label"`
		Update      string       `json:"update"`
		Frame       string       `json:"frame"`
		UpdateEvent *eventVector `json:"update_event"`
		After       statesClocks `json:"after"`
	} `json:"steps"`
}

type eventVector struct {
	Added   []uint64 `json:"added"`
	Updated []uint64 `json:"updated"`
	Removed []uint64 `json:"removed"`
}

type statesClocks struct {
	States map[string]json.RawMessage `json:"states"`
	Clocks map[string]uint64          `json:"clocks"`
}

type encodingCase struct {
	LocalUpdates []struct {
		Label  string `json:"label"`
		Clock  uint64 `json:"clock"`
		Update string `json:"update"`
		Frame  string `json:"frame"`
	} `json:"local_updates"`
	MultiClientUpdate string       `json:"multi_client_update"`
	MultiClientFrame  string       `json:"multi_client_frame"`
	MultiClientStates statesClocks `json:"multi_client_states"`
}

// loadVectors returns the raw JSON line of every case, by name, and the names in file order.
func loadVectors(t testing.TB) (map[string]json.RawMessage, []string) {
	t.Helper()
	f, err := os.Open(vectorsPath)
	require.NoError(t, err)
	defer f.Close()
	cases := make(map[string]json.RawMessage)
	var names []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var head struct{ Kind, Name string }
		line := append([]byte(nil), sc.Bytes()...)
		require.NoError(t, json.Unmarshal(line, &head))
		cases[head.Name] = line
		names = append(names, head.Name)
	}
	require.NoError(t, sc.Err())
	return cases, names
}

func loadCase(t testing.TB, name string, v any) {
	t.Helper()
	cases, _ := loadVectors(t)
	raw, ok := cases[name]
	require.True(t, ok, "case %s missing from %s", name, vectorsPath)
	require.NoError(t, json.Unmarshal(raw, v))
}

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// frame wraps an awareness update as y-websocket does: 01 + varUint8Array(update).
func frame(update []byte) []byte {
	var e lib0.Encoder
	e.WriteVarUint(1)
	e.WriteVarUint8Array(update)
	return e.Bytes()
}

func ids(v []uint64) []awareness.ClientID {
	out := make([]awareness.ClientID, len(v))
	for i, x := range v {
		out[i] = awareness.ClientID(x)
	}
	return out
}

// jsonValue parses JSON text for comparison as a value (key order and spacing ignored).
func jsonValue(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v), "%q", b)
	return v
}

// checkTable compares a State's states and clocks with a vector's, skipping the reference
// Awareness's own id "0" (a server State has no id of its own).
func checkTable(t *testing.T, st *awareness.State[string], want statesClocks) {
	t.Helper()
	gotStates := map[string]any{}
	gotClocks := map[string]uint64{}
	for _, id := range st.ClientIDs() {
		m, ok := st.Lookup(id)
		require.True(t, ok)
		key := strconv.FormatUint(uint64(id), 10)
		gotClocks[key] = m.Clock
		if m.JSON != nil {
			gotStates[key] = jsonValue(t, m.JSON)
		}
	}
	wantStates := map[string]any{}
	for k, v := range want.States {
		wantStates[k] = jsonValue(t, v)
	}
	wantClocks := map[string]uint64{}
	for k, v := range want.Clocks {
		if k != "0" {
			wantClocks[k] = v
		}
	}
	assert.Equal(t, wantStates, gotStates, "states")
	assert.Equal(t, wantClocks, gotClocks, "clocks")
	assert.Equal(t, len(wantStates), st.Len(), "Len")
}

func TestVectors_ApplyRules(t *testing.T) {
	var c applyRulesCase
	loadCase(t, "awareness_apply_rules", &c)
	require.NotEmpty(t, c.Steps)

	st, err := awareness.New[string](awareness.Options{})
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	for i, step := range c.Steps {
		now = now.Add(100 * time.Millisecond)
		t.Run(strconv.Itoa(i)+"_"+step.Label, func(t *testing.T) {
			update := b64(t, step.Update)
			assert.Equal(t, b64(t, step.Frame), frame(update), "frame")

			ch, err := st.ApplyUpdate(update, now, "conn")
			require.NoError(t, err)

			if step.UpdateEvent == nil {
				assert.True(t, ch.Empty(), "no update event expected, got %+v", ch)
				assert.Nil(t, ch.Update, "nothing to broadcast")
			} else {
				ev := step.UpdateEvent
				assert.Equal(t, ids(ev.Added), nilIfEmpty(ch.Added), "added")
				assert.Equal(t, ids(ev.Updated), nilIfEmpty(ch.Updated), "updated")
				assert.Equal(t, ids(ev.Removed), nilIfEmpty(ch.Removed), "removed")
				checkBroadcast(t, st, ch)
			}
			checkTable(t, st, step.After)
		})
	}
}

func nilIfEmpty(v []awareness.ClientID) []awareness.ClientID {
	if v == nil {
		return []awareness.ClientID{}
	}
	return v
}

// checkBroadcast checks that ch.Update holds added, updated and removed ids, each once and in
// that order, with the State's current clock and state (null for a removed id).
func checkBroadcast(t *testing.T, st *awareness.State[string], ch awareness.Change) {
	t.Helper()
	entries, err := awareness.DecodeUpdate(ch.Update)
	require.NoError(t, err)
	var want []awareness.ClientID
	seen := map[awareness.ClientID]bool{}
	for _, list := range [][]awareness.ClientID{ch.Added, ch.Updated, ch.Removed} {
		for _, id := range list {
			if !seen[id] {
				seen[id] = true
				want = append(want, id)
			}
		}
	}
	require.Len(t, entries, len(want))
	for i, e := range entries {
		assert.Equal(t, want[i], e.ClientID)
		m, ok := st.Lookup(e.ClientID)
		require.True(t, ok)
		assert.Equal(t, m.Clock, e.Clock, "clock of %d", e.ClientID)
		if m.JSON == nil {
			assert.True(t, e.Removed(), "entry for %d must be null", e.ClientID)
			assert.Equal(t, "null", string(e.JSON))
		} else {
			assert.Equal(t, string(m.JSON), string(e.JSON), "state of %d re-sent verbatim", e.ClientID)
		}
	}
}

func TestVectors_Encoding_LocalUpdates(t *testing.T) {
	var c encodingCase
	loadCase(t, "awareness_encoding", &c)
	require.NotEmpty(t, c.LocalUpdates)
	for i, lu := range c.LocalUpdates {
		t.Run(strconv.Itoa(i)+"_"+lu.Label, func(t *testing.T) {
			update := b64(t, lu.Update)
			entries, err := awareness.DecodeUpdate(update)
			require.NoError(t, err)
			require.Len(t, entries, 1)
			assert.Equal(t, awareness.ClientID(1234), entries[0].ClientID)
			assert.Equal(t, lu.Clock, entries[0].Clock)
			assert.True(t, json.Valid(entries[0].JSON))
			assert.Equal(t, update, awareness.EncodeEntries(entries), "re-encode")
			assert.Equal(t, b64(t, lu.Frame), frame(update), "frame")
		})
	}
}

// TestVectors_Encoding_LocalUpdatesApplied feeds one client's successive updates to a server
// State. The expected outcome of each follows from y-protocols' rule: clock 0 from an unknown
// client is ignored, later clocks update, a null at the current clock removes, and a null at a
// higher clock for a known id is listed as removed again although no state is left.
func TestVectors_Encoding_LocalUpdatesApplied(t *testing.T) {
	var c encodingCase
	loadCase(t, "awareness_encoding", &c)
	require.Len(t, c.LocalUpdates, 6)
	st, err := awareness.New[string](awareness.Options{})
	require.NoError(t, err)
	now := time.Unix(0, 0)
	want := []struct {
		added, updated, removed []awareness.ClientID
		hasState                bool
	}{
		{nil, nil, nil, false},
		{[]awareness.ClientID{1234}, nil, nil, true},
		{nil, []awareness.ClientID{1234}, nil, true},
		{nil, []awareness.ClientID{1234}, nil, true},
		{nil, nil, []awareness.ClientID{1234}, false},
		{nil, nil, []awareness.ClientID{1234}, false},
	}
	for i, lu := range c.LocalUpdates {
		ch, err := st.ApplyUpdate(b64(t, lu.Update), now, "a")
		require.NoError(t, err, lu.Label)
		assert.Equal(t, want[i].added, ch.Added, lu.Label)
		assert.Equal(t, want[i].updated, ch.Updated, lu.Label)
		assert.Equal(t, want[i].removed, ch.Removed, lu.Label)
		m, ok := st.Lookup(1234)
		if i == 0 {
			assert.False(t, ok, "clock 0 from an unknown client is not recorded")
			continue
		}
		require.True(t, ok)
		assert.Equal(t, lu.Clock, m.Clock, lu.Label)
		assert.Equal(t, want[i].hasState, m.JSON != nil, lu.Label)
		if m.JSON != nil {
			e, err := awareness.DecodeUpdate(b64(t, lu.Update))
			require.NoError(t, err)
			assert.Equal(t, e[0].JSON, m.JSON)
		}
	}
}

func TestVectors_Encoding_MultiClient(t *testing.T) {
	var c encodingCase
	loadCase(t, "awareness_encoding", &c)
	update := b64(t, c.MultiClientUpdate)
	assert.Equal(t, b64(t, c.MultiClientFrame), frame(update), "frame")

	entries, err := awareness.DecodeUpdate(update)
	require.NoError(t, err)
	gotStates := map[string]any{}
	gotClocks := map[string]uint64{}
	for _, e := range entries {
		key := strconv.FormatUint(uint64(e.ClientID), 10)
		gotStates[key] = jsonValue(t, e.JSON)
		gotClocks[key] = e.Clock
	}
	wantStates := map[string]any{}
	for k, v := range c.MultiClientStates.States {
		wantStates[k] = jsonValue(t, v)
	}
	wantClocks := map[string]uint64{}
	for k, v := range c.MultiClientStates.Clocks {
		if k != "0" {
			wantClocks[k] = v
		}
	}
	assert.Equal(t, wantStates, gotStates)
	assert.Equal(t, wantClocks, gotClocks)
	assert.Equal(t, update, awareness.EncodeEntries(entries), "re-encode")

	// A server that applied the update holds both clients and sends a newcomer exactly
	// these bytes.
	st, err := awareness.New[string](awareness.Options{})
	require.NoError(t, err)
	ch, err := st.ApplyUpdate(update, time.Unix(0, 0), "a")
	require.NoError(t, err)
	assert.Equal(t, []awareness.ClientID{987654321, 4294967295}, ch.Added)
	assert.Equal(t, update, ch.Update, "broadcast of an all-new update equals it")
	checkTable(t, st, c.MultiClientStates)
	assert.Equal(t, update, st.EncodeAll(), "snapshot for a newcomer")
}
