package docsync

import (
	"flag"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
)

var seedFlag = flag.Uint64("seed", 0, "first seed of the random coalescing test (0: 1)")

// TestCoalesce_Random checks the writer's coalescing against applying frames one by one: six
// typists (two of them typing non-ASCII, one a surrogate pair) edit concurrently, each seeing
// the others' updates only through batches of update frames, as a lagging peer's writer sends
// them; every typist must end with the same text, nothing pending, nothing lost or doubled.
// The typists share one merge memo, whose runs differ only by each typist's own updates.
func TestCoalesce_Random(t *testing.T) {
	first := *seedFlag
	if first == 0 {
		first = 1
	}
	chars := []string{"a", "b", "c", "d", "é", "😀"}
	for seed := first; seed < first+200; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		eds := make([]*editor, len(chars))
		for i := range eds {
			eds[i] = newEditor(uint64(i + 1))
		}
		type entry struct {
			from  int
			frame []byte
		}
		var log []entry // server order
		delivered := make([]int, len(eds))
		memo := newMergeMemo() // shared by the typists, as by the peers of one server
		catchUp := func(i, limit int) {
			var batch [][]byte
			for ; delivered[i] < limit; delivered[i]++ {
				if e := log[delivered[i]]; e.from != i { // no echo to the sender
					batch = append(batch, e.frame)
				}
			}
			for _, f := range memo.coalesce(batch) {
				m, err := decodeMessage(f)
				require.NoError(t, err)
				require.NoError(t, eds[i].doc.ApplyUpdate(m.payload), "seed %d", seed)
			}
		}
		total := 0
		for step := 0; step < 80; step++ {
			i := r.IntN(len(eds))
			if r.IntN(2) == 0 {
				catchUp(i, delivered[i]+r.IntN(len(log)-delivered[i]+1))
			}
			pos := r.IntN(eds[i].doc.Text("t").Len() + 1)
			log = append(log, entry{i, encodeSyncUpdate(eds[i].insert(t, pos, chars[i]))})
			total += len(utf16.Encode([]rune(chars[i])))
		}
		for i := range eds {
			catchUp(i, len(log))
		}
		want := eds[0].doc.Text("t").String()
		for i, e := range eds {
			structs, ds := e.doc.HasPending()
			if !assert.Equal(t, want, e.doc.Text("t").String(), "seed %d, typist %d", seed, i) ||
				!assert.Equal(t, total, e.doc.Text("t").Len(), "seed %d, typist %d", seed, i) ||
				!assert.False(t, structs || ds, "seed %d, typist %d: pending", seed, i) {
				t.Fatalf("failed with seed %d (rerun with -seed %d)", seed, seed)
			}
		}
	}
}

func TestCoalesce_KeepsOtherFramesInOrder(t *testing.T) {
	ed := newEditor(1)
	u1, u2, u3 := ed.insert(t, 0, "a"), ed.insert(t, 1, "b"), ed.insert(t, 2, "c")
	aw := awarenessFrame(5, 1, `{}`)
	step2 := encodeSyncStep2(u1)
	out := coalesce([][]byte{step2, encodeSyncUpdate(u1), encodeSyncUpdate(u2), aw, encodeSyncUpdate(u3)})
	require.Len(t, out, 4)
	assert.Equal(t, step2, out[0])
	assert.Equal(t, aw, out[2])
	assert.Equal(t, encodeSyncUpdate(u3), out[3], "a lone update is passed through as is")
	m, err := decodeMessage(out[1])
	require.NoError(t, err)
	d := crdt.NewDoc(crdt.Options{})
	require.NoError(t, d.ApplyUpdate(m.payload))
	assert.Equal(t, "ab", d.ToJSON()["t"])
	single := [][]byte{aw}
	assert.Equal(t, single, coalesce(single))
}

func TestCoalesce_MemoSharesMergesOfOverlappingBacklogs(t *testing.T) {
	ed := newEditor(1)
	var frames [][]byte
	for i := 0; i < 300; i++ {
		frames = append(frames, encodeSyncUpdate(ed.insert(t, i, "x")))
	}
	memo := newMergeMemo()
	// Two peers lag behind the same broadcast frames, one from frame 0, one from frame 37.
	outA := memo.coalesce(append([][]byte(nil), frames...))
	outB := memo.coalesce(append([][]byte(nil), frames[37:]...))
	shared := 0
	for _, b := range outB {
		for _, a := range outA {
			if &a[0] == &b[0] {
				shared++
			}
		}
	}
	assert.Greater(t, shared, len(outB)/2, "most of B's merged runs are A's (A: %d frames, B: %d)", len(outA), len(outB))
	for _, out := range [][][]byte{outA, outB} {
		d := crdt.NewDoc(crdt.Options{})
		if len(out) == len(outB) {
			first, err := crdt.MergeUpdates(payloads(t, frames[:37]))
			require.NoError(t, err)
			require.NoError(t, d.ApplyUpdate(first))
		}
		for _, u := range payloads(t, out) {
			require.NoError(t, d.ApplyUpdate(u))
		}
		assert.Equal(t, strings.Repeat("x", 300), d.ToJSON()["t"])
	}
}

func TestCoalesce_MemoTellsRunsApartByEveryFrame(t *testing.T) {
	// Five independent updates; two runs with the same first and last frame and length that
	// differ in the middle (as two peers that each sent one of them and are skipped for it).
	var f [][]byte
	for i := 0; i < 5; i++ {
		f = append(f, encodeSyncUpdate(newEditor(uint64(i+1)).insert(t, 0, string(rune('a'+i)))))
	}
	memo := newMergeMemo()
	a, ok := memo.merge([][]byte{f[0], f[1], f[3], f[4]})
	require.True(t, ok)
	b, ok := memo.merge([][]byte{f[0], f[2], f[3], f[4]})
	require.True(t, ok)
	text := func(frame []byte) string {
		d := crdt.NewDoc(crdt.Options{})
		require.NoError(t, d.ApplyUpdate(payloads(t, [][]byte{frame})[0]))
		s, _ := d.ToJSON()["t"].(string)
		return s
	}
	assert.NotContains(t, text(a), "c")
	assert.Contains(t, text(b), "c")
	assert.NotContains(t, text(b), "b")
	again, _ := memo.merge([][]byte{f[0], f[2], f[3], f[4]})
	assert.Same(t, &b[0], &again[0], "the same run is served from the memo")
}

func payloads(t *testing.T, frames [][]byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range frames {
		m, err := decodeMessage(f)
		require.NoError(t, err)
		out = append(out, m.payload)
	}
	return out
}
