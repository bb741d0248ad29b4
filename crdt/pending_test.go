package crdt

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Updates of the Yjs→Go interop scenario seed 110 (3 Y.Docs, 9 steps; go test ./crdt -run
// 'TestInterop_YjsToGo$' -seed=110), v1, as Yjs 13.6.33 emitted them. Update 2 (client 1000,
// clocks 8–13) is never delivered here.
var pending110 = map[int]string{
	// 1000:14–19, needs 1000:13
	5: "0106e8070e2701036d6170016b0046e80700066974616c69630474727565c6e8070fe80700046c696e6b0c7b2268726566223a2261227d86e80701066974616c6963046e756c6c86e80711046c696e6b046e756c6c0800e8070e017e00",
	// 1007:0–2, then 1007:3–12 with origin 1000:1
	4: "0102ef0700080105617272617903770077007cbfa0000084e8070115c39fe69687f09f988078f09f91a9e2808df09f91a700",
	1: "0101f60700070103786d6c0600",
	6: "0102f607010401056e6f74657307f09f9880e6968747f607000601f607010001",
	// 1000:0–7
	0: "0102e807000401056e6f74657304f09d849e040104746578740af09f98800a7863e6968700",
}

func update110(t *testing.T, i int) []byte {
	t.Helper()
	b, err := hex.DecodeString(pending110[i])
	require.NoError(t, err)
	return b
}

// TestPending_RetryAsYjs checks that an extra retry of ours (the pending update holds the next
// struct of 1007) does not replace the missing clocks Yjs keeps: 1007:3 waits for 1000:1, Yjs
// records {1000: 0} and retries once 1000:0–7 arrive. A Doc must then have integrated at least
// what Yjs has; the expected state vectors are Yjs 13.6.33's after each update.
func TestPending_RetryAsYjs(t *testing.T) {
	want := []struct {
		update int
		sv     StateVector
	}{
		{5, StateVector{}},
		{4, StateVector{1007: 3}},
		{1, StateVector{1007: 3, 1014: 1}},
		{6, StateVector{1007: 3, 1014: 5}},
		{0, StateVector{1000: 8, 1007: 13, 1014: 5}},
	}
	for _, v2 := range []bool{false, true} {
		d := NewDoc(Options{ClientID: 1})
		for _, w := range want {
			u := update110(t, w.update)
			if v2 {
				var err error
				u, err = ConvertUpdateFormatV1ToV2(u)
				require.NoError(t, err)
				require.NoError(t, d.ApplyUpdateV2(u))
			} else {
				require.NoError(t, d.ApplyUpdate(u))
			}
			assert.Equal(t, w.sv, d.StateVector(), "v2 %v, after update %d", v2, w.update)
		}
		structs, _ := d.HasPending()
		assert.True(t, structs, "1000:14–19 still wait for 1000:8–13")
		assert.Equal(t, "𝄞ß文😀x👩‍👧😀文", d.Text("notes").String())
	}
}

// TestPending_UnmergedRestIsKept covers the fallback for a rest update that cannot be merged
// into the pending one: it is kept beside it, encoded with the state and integrated on the
// next retry.
func TestPending_UnmergedRestIsKept(t *testing.T) {
	d := NewDoc(Options{ClientID: 1})
	require.NoError(t, d.ApplyUpdate(update110(t, 5)))
	p := d.store.pending
	require.NotNil(t, p)
	before := p.update

	// Bytes MergeUpdatesV2 refuses: kept, not dropped, and their missing clocks count.
	d.store.addRest(&restStructs{missing: map[uint64]uint64{1000: 3}, update: []byte{0xff}})
	assert.Equal(t, before, p.update)
	assert.Equal(t, [][]byte{{0xff}}, p.unmerged)
	assert.Equal(t, map[uint64]uint64{1000: 3}, p.missing)
	_, err := d.EncodeStateAsUpdate(nil)
	assert.Error(t, err, "an unreadable pending update must not vanish from the encoded state")

	// A readable unmerged rest is encoded with the state and integrated on a retry.
	u4, err := ConvertUpdateFormatV1ToV2(update110(t, 4))
	require.NoError(t, err)
	p.unmerged = [][]byte{u4}
	p.missing = map[uint64]uint64{1000: 0}
	state, err := d.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
	d2 := NewDoc(Options{ClientID: 2})
	require.NoError(t, d2.ApplyUpdate(update110(t, 0)))
	require.NoError(t, d2.ApplyUpdate(state))

	require.NoError(t, d.ApplyUpdate(update110(t, 0)))
	want := StateVector{1000: 8, 1007: 13}
	assert.Equal(t, want, d.StateVector())
	assert.Equal(t, want, d2.StateVector())
	assert.Equal(t, d2.Text("notes").String(), d.Text("notes").String())
	require.NotNil(t, d.store.pending)
	assert.Empty(t, d.store.pending.unmerged)
}
