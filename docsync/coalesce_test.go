package docsync

import (
	"flag"
	"math/rand/v2"
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
		catchUp := func(i, limit int) {
			var batch [][]byte
			for ; delivered[i] < limit; delivered[i]++ {
				if e := log[delivered[i]]; e.from != i { // no echo to the sender
					batch = append(batch, e.frame)
				}
			}
			for _, f := range coalesce(batch) {
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
