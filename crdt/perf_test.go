package crdt

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Guards for the performance work: the size of an item, the allocations of the hot paths,
// and the reuse of transactions and decoding scratch across nested calls.

// TestPerf_ItemSize keeps item in the 112-byte size class: the loaded automerge-paper
// document holds 10,971 items, so every size class costs about 175 KB.
func TestPerf_ItemSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(item{}), uintptr(112))
}

// typingUpdates returns the updates of a local author typing n characters one per
// transaction, each continuing the run of the previous one.
func typingUpdates(t *testing.T, n int) [][]byte {
	t.Helper()
	src := NewDoc(Options{ClientID: 7})
	var ups [][]byte
	src.OnUpdate(func(u []byte, _ any) { ups = append(ups, u) })
	txt := src.Text("t")
	for i := 0; i < n; i++ {
		src.Transact(nil, func(tx *Transaction) { txt.Insert(tx, i, "x", nil) })
	}
	require.Len(t, ups, n)
	return ups
}

// TestPerf_AllocsRemoteTyping bounds the allocations of applying one keystroke update that
// continues a run: the item, its content and text, the emitted update, and little else.
func TestPerf_AllocsRemoteTyping(t *testing.T) {
	ups := typingUpdates(t, 2000)
	d := NewDoc(Options{ClientID: 9})
	d.OnUpdate(func([]byte, any) {})
	for _, u := range ups[:1000] {
		require.NoError(t, d.ApplyUpdate(u))
	}
	i := 1000
	allocs := testing.AllocsPerRun(500, func() {
		if err := d.ApplyUpdate(ups[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	assert.LessOrEqual(t, allocs, 8.0, "allocations per applied keystroke")
	assert.Equal(t, 1501, d.Text("t").Len())
}

// TestPerf_AllocsLocalTyping bounds the allocations of one local keystroke transaction with
// an update handler.
func TestPerf_AllocsLocalTyping(t *testing.T) {
	d := NewDoc(Options{ClientID: 7})
	d.OnUpdate(func([]byte, any) {})
	txt := d.Text("t")
	n := 0
	allocs := testing.AllocsPerRun(500, func() {
		d.Transact(nil, func(tx *Transaction) { txt.Insert(tx, n, "x", nil) })
		n++
	})
	assert.LessOrEqual(t, allocs, 8.0, "allocations per local keystroke")
	assert.Equal(t, n, txt.Len())
}

// TestPerf_NestedCallsFromHandlers edits and applies updates from inside update handlers,
// where the reused transaction and decoding scratch are still in use by the outer call.
func TestPerf_NestedCallsFromHandlers(t *testing.T) {
	ups := typingUpdates(t, 20)

	// Remote updates applied from the handler of another remote update, on the same doc.
	d := NewDoc(Options{ClientID: 9})
	next := 1
	d.OnUpdate(func([]byte, any) {
		if next < len(ups) {
			u := ups[next]
			next++
			require.NoError(t, d.ApplyUpdate(u))
		}
	})
	require.NoError(t, d.ApplyUpdate(ups[0]))
	assert.Equal(t, 20, next)
	assert.Equal(t, "xxxxxxxxxxxxxxxxxxxx", d.Text("t").String())

	// Local transactions opened from a handler; every emitted update reaches a peer.
	a := NewDoc(Options{ClientID: 11})
	b := NewDoc(Options{ClientID: 12})
	ta := a.Text("t")
	count := 0
	a.OnUpdate(func(u []byte, _ any) {
		require.NoError(t, b.ApplyUpdate(u))
		if count < 5 {
			count++
			a.Transact(nil, func(tx *Transaction) {
				ta.Insert(tx, 0, "ab", nil)
				ta.Delete(tx, 1, 1)
			})
		}
	})
	a.Transact(nil, func(tx *Transaction) { ta.Insert(tx, 0, "hello", nil) })
	assert.Equal(t, "aaaaahello", ta.String())
	assert.Equal(t, ta.String(), b.Text("t").String())
	assert.Equal(t, a.StateVector(), b.StateVector())
}

// TestPerf_MixedTextRuns types ASCII and non-ASCII text into one run (String content is kept
// as bytes while ASCII and widened when other text joins it), splits the run, also inside a
// surrogate pair, and checks that local, remote and reloaded docs agree.
func TestPerf_MixedTextRuns(t *testing.T) {
	a := NewDoc(Options{ClientID: 21})
	var ups [][]byte
	a.OnUpdate(func(u []byte, _ any) { ups = append(ups, u) })
	ta := a.Text("t")
	want := ""
	for _, s := range []string{"ab", "c", "é", "d", "😀", "ef", "g"} {
		a.Transact(nil, func(tx *Transaction) { ta.Insert(tx, ta.Len(), s, nil) })
		want += s
	}
	require.Equal(t, want, ta.String())
	// Split the run in the middle, inside the surrogate pair, and at ASCII positions.
	a.Transact(nil, func(tx *Transaction) { ta.Insert(tx, 2, "X", nil) })
	a.Transact(nil, func(tx *Transaction) { ta.Insert(tx, 7, "Y", nil) }) // between the halves of 😀
	a.Transact(nil, func(tx *Transaction) { ta.Delete(tx, 0, 1) })
	got := ta.String()
	// Splitting a surrogate pair turns both halves into U+FFFD (SPEC §3.3).
	assert.Equal(t, "bXcéd\uFFFDY\uFFFDefg", got)
	assert.Equal(t, 11, ta.Len())

	b := NewDoc(Options{ClientID: 22})
	for i, u := range ups {
		require.NoError(t, b.ApplyUpdate(u), "update %d", i)
	}
	assert.Equal(t, got, b.Text("t").String())
	sa, err := a.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
	sb, err := b.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
	assert.Equal(t, sa, sb)

	for _, v2 := range []bool{false, true} {
		c := NewDoc(Options{ClientID: 23})
		if v2 {
			s2, err := a.EncodeStateAsUpdateV2(nil)
			require.NoError(t, err)
			require.NoError(t, c.ApplyUpdateV2(s2))
		} else {
			require.NoError(t, c.ApplyUpdate(sa))
		}
		assert.Equal(t, got, c.Text("t").String())
		sc, err := c.EncodeStateAsUpdate(nil)
		require.NoError(t, err)
		assert.Equal(t, sa, sc)
	}
}
