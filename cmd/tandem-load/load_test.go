package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHistogram_Percentiles(t *testing.T) {
	var h histogram
	assert.Zero(t, h.percentile(50), "empty histogram")
	for v := uint64(1); v <= 10000; v++ {
		h.record(v)
	}
	near := func(want, got uint64) {
		t.Helper()
		diff := float64(got) - float64(want)
		assert.LessOrEqual(t, diff*diff, 0.035*0.035*float64(want*want), "want ≈%d, got %d", want, got)
	}
	near(5000, h.percentile(50))
	near(9900, h.percentile(99))
	near(1000, h.percentile(10))
	assert.Equal(t, uint64(10000), h.max)
	assert.Equal(t, uint64(10000), h.percentile(100))
	assert.InDelta(t, 5000.5, h.mean(), 0.01)

	// Small values are exact.
	var s histogram
	for _, v := range []uint64{3, 1, 2, 5, 4} {
		s.record(v)
	}
	assert.Equal(t, uint64(3), s.percentile(50))
	assert.Equal(t, uint64(1), s.percentile(1))
	assert.Equal(t, uint64(5), s.percentile(99))

	// Merging equals recording everything in one histogram.
	var a, b, all histogram
	for v := uint64(0); v < 5000; v += 7 {
		a.record(v * 13)
		b.record(v * 29)
		all.record(v * 13)
		all.record(v * 29)
	}
	a.merge(&b)
	assert.Equal(t, all.n, a.n)
	for _, p := range []float64{1, 25, 50, 75, 99, 99.9} {
		assert.Equal(t, all.percentile(p), a.percentile(p), "p%v", p)
	}
}

func TestHistIndex_BucketsAreOrderedAndPrecise(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<24; v = v + 1 + v/50 {
		i := histIndex(v)
		require.GreaterOrEqual(t, i, prev, "index decreases at %d", v)
		prev = i
		mid := histValue(i)
		diff := float64(mid) - float64(v)
		require.LessOrEqual(t, diff*diff, 0.032*0.032*float64(v*v)+0.25, "value %d lands in bucket %d (mid %d)", v, i, mid)
	}
}

func TestEncodeTextUpdate_MatchesYjs(t *testing.T) {
	// SPEC §4.2, case sync_update_frames: client 9 inserts "hi" into root text "t".
	got := syncFrame(syncUpdate, encodeTextUpdate(9, "t", []insertRun{{Clock: 0, Text: "hi"}}, nil))
	want, err := hex.DecodeString("00020c0101090004010174026869" + "00")
	require.NoError(t, err)
	assert.Equal(t, want, got)

	msgType, sub, payload, err := parseFrame(got)
	require.NoError(t, err)
	assert.Equal(t, uint64(messageSync), msgType)
	assert.Equal(t, uint64(syncUpdate), sub)
	assert.Equal(t, want[3:], payload)
}

func TestScanEnds(t *testing.T) {
	o, ro := uint64(1), uint64(0)
	up := encodeTextUpdate(77, "t", []insertRun{
		{Clock: 2, Text: "ab", Origin: &o},
		{Clock: 4, Text: "é😀", Origin: &o, RightOrigin: &ro}, // 1 + 2 UTF-16 units
	}, []clockRange{{Clock: 0, Len: 1}})
	var got [][2]uint64
	require.NoError(t, scanEnds(up, func(c, e uint64) { got = append(got, [2]uint64{c, e}) }))
	assert.Equal(t, [][2]uint64{{77, 7}}, got)

	// A delete-only update has no structs.
	got = nil
	require.NoError(t, scanEnds(encodeTextUpdate(5, "t", nil, []clockRange{{3, 2}}), func(c, e uint64) { got = append(got, [2]uint64{c, e}) }))
	assert.Empty(t, got)

	// GC (info 0) and Skip (info 10) structs count their length; two clients.
	mixed := []byte{2, 1, 8, 5, 0, 3, 1, 9, 0, 10, 4, 0}
	got = nil
	require.NoError(t, scanEnds(mixed, func(c, e uint64) { got = append(got, [2]uint64{c, e}) }))
	assert.Equal(t, [][2]uint64{{8, 8}, {9, 4}}, got)

	// Truncated input fails instead of reporting a wrong clock.
	for n := 1; n < len(up)-1; n++ {
		err := scanEnds(up[:n], func(uint64, uint64) {})
		if n < len(up)-5 { // the trailing delete set (5 bytes) is not read by scanEnds
			assert.Error(t, err, "prefix of %d bytes", n)
		}
	}
	// Content it cannot decode is reported as such.
	err := scanEnds([]byte{1, 1, 1, 0, 8, 1, 1, 0x74, 1, 0x7d}, func(uint64, uint64) {})
	assert.True(t, errors.Is(err, errUnsupported), "got %v", err)
}

// replayPatches applies a trace to a plain string, the way the trace format defines it.
func replayPatches(tr *trace) string {
	var s []rune
	for _, txn := range tr.Txns {
		for _, p := range txn.Patches {
			rest := append([]rune(p.Ins), s[p.Pos+p.Del:]...)
			s = append(s[:p.Pos], rest...)
		}
	}
	return string(s)
}

func TestBuildTraceUpdates_SmallTrace(t *testing.T) {
	src := `{"startContent":"","endContent":"","txns":[
		{"patches":[[0,0,"hello world"]]},
		{"patches":[[5,0,","]]},
		{"patches":[[0,1,"H"]]},
		{"patches":[[12,0,"!"],[6,1,""]]},
		{"patches":[[3,4,""]]},
		{"patches":[[0,0,""]]},
		{"patches":[[0,8,"bye"]]}
	]}`
	var tr trace
	require.NoError(t, json.Unmarshal([]byte(src), &tr))
	ups, text, err := buildTraceUpdates(&tr, 42, "t", 0)
	require.NoError(t, err)
	assert.Equal(t, replayPatches(&tr), text)
	assert.Equal(t, "bye", text)
	require.Len(t, ups, 6, "the empty transaction yields no update")
	wantEnds := []uint64{11, 12, 13, 14, 14, 17}
	wantInsert := []bool{true, true, true, true, false, true}
	for i, u := range ups {
		assert.Equal(t, wantEnds[i], u.End, "update %d end", i)
		assert.Equal(t, wantInsert[i], u.Insert, "update %d insert", i)
		var end uint64
		require.NoError(t, scanEnds(u.Update, func(c, e uint64) {
			assert.Equal(t, uint64(42), c)
			end = e
		}))
		if u.Insert {
			assert.Equal(t, u.End, end, "update %d: scanned end", i)
		}
	}
	// The first update is the same bytes Yjs writes for one insert into an empty root text.
	assert.True(t, bytes.HasPrefix(ups[0].Update, []byte{1, 1, 42, 0, 4, 1, 1, 't', 11}))

	_, _, err = buildTraceUpdates(&trace{Txns: tr.Txns[:1]}, 1, "t", 0)
	require.NoError(t, err)
	bad := trace{}
	require.NoError(t, json.Unmarshal([]byte(`{"txns":[{"patches":[[3,0,"x"]]}]}`), &bad))
	_, _, err = buildTraceUpdates(&bad, 1, "t", 0)
	assert.Error(t, err, "patch beyond the text")
}

func TestBuildTraceUpdates_AutomergePaper(t *testing.T) {
	path := filepath.Join("..", "..", "crdt", "testdata", "traces", "automerge-paper.json.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("trace not present: %v", err)
	}
	tr, err := readTrace(path)
	require.NoError(t, err)
	ups, text, err := buildTraceUpdates(tr, 123456, "t", 0)
	require.NoError(t, err)
	assert.Equal(t, tr.EndContent, text, "the model's final text")
	assert.Len(t, ups, 259778, "one update per transaction")
	total := 0
	for _, u := range ups {
		total += len(u.Update)
	}
	t.Logf("%d updates, %d bytes", len(ups), total)

	limited, _, err := buildTraceUpdates(tr, 1, "t", 1000)
	require.NoError(t, err)
	assert.Len(t, limited, 1000)
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"ws://127.0.0.1:8080/sync", "ws://localhost:1234", "ws://[::1]:9/x", "wss://127.0.0.2:1"} {
		assert.NoError(t, checkLoopback(ok), ok)
	}
	for _, bad := range []string{"ws://10.0.0.1:80", "ws://example.com/sync", "http://127.0.0.1:80", "ws://0.0.0.0:1"} {
		assert.Error(t, checkLoopback(bad), bad)
	}
}

func TestReadMem_Self(t *testing.T) {
	m, err := readMem(os.Getpid())
	if err != nil && strings.Contains(err.Error(), "no such file") {
		t.Skip("no /proc on this system")
	}
	require.NoError(t, err)
	assert.Positive(t, m.RSS)
	assert.GreaterOrEqual(t, m.HWM, m.RSS)
	// Burn some CPU and see the counter move (it ticks every 10 ms).
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; x++ {
	}
	m2, err := readMem(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, m2.CPU, m.CPU, "CPU time grows (%d iterations)", x)
}
