package crdt

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// codecDocCase is the part of a `doc` case of testdata/yjs/vectors.jsonl that the codec
// and update-function tests use (see the README next to the vectors for the format).
type codecDocCase struct {
	Kind           string   `json:"kind"`
	Name           string   `json:"name"`
	Updates        []string `json:"updates"`
	UpdatesV2      []string `json:"updates_v2"`
	MergedUpdate   string   `json:"merged_update"`
	MergedUpdateV2 string   `json:"merged_update_v2"`
	Expected       struct {
		StateVector     string `json:"state_vector"`
		StateAsUpdate   string `json:"state_as_update"`
		StateAsUpdateV2 string `json:"state_as_update_v2"`
	} `json:"expected"`
	Diffs []struct {
		BaseUpdateCount   *int   `json:"base_update_count"`
		TargetStateVector string `json:"target_state_vector"`
		Update            string `json:"update"`
		UpdateV2          string `json:"update_v2"`
	} `json:"diffs"`
}

// codecCase is a doc case with its byte strings decoded.
type codecCase struct {
	name                 string
	updates, updatesV2   [][]byte
	merged, mergedV2     []byte
	stateVector          []byte
	stateAsUpdate        []byte
	stateAsUpdateV2      []byte
	diffTargets          [][]byte
	diffUpdates, diffsV2 [][]byte
	diffBaseCounts       []int // -1 when not set
}

var (
	codecVectorsOnce sync.Once
	codecVectors     []codecCase
	codecVectorsErr  error
)

// loadCodecVectors reads the doc cases of testdata/yjs/vectors.jsonl once.
func loadCodecVectors(t *testing.T) []codecCase {
	t.Helper()
	codecVectorsOnce.Do(func() { codecVectors, codecVectorsErr = readCodecVectors() })
	require.NoError(t, codecVectorsErr)
	require.NotEmpty(t, codecVectors)
	return codecVectors
}

func readCodecVectors() ([]codecCase, error) {
	f, err := os.Open("testdata/yjs/vectors.jsonl")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b64 := func(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
	b64All := func(ss []string) ([][]byte, error) {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			b, err := b64(s)
			if err != nil {
				return nil, err
			}
			out[i] = b
		}
		return out, nil
	}
	var cases []codecCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var dc codecDocCase
		if err := json.Unmarshal(sc.Bytes(), &dc); err != nil {
			return nil, err
		}
		if dc.Kind != "doc" {
			continue
		}
		c := codecCase{name: dc.Name}
		var errs [7]error
		c.updates, errs[0] = b64All(dc.Updates)
		c.updatesV2, errs[1] = b64All(dc.UpdatesV2)
		c.merged, errs[2] = b64(dc.MergedUpdate)
		c.mergedV2, errs[3] = b64(dc.MergedUpdateV2)
		c.stateVector, errs[4] = b64(dc.Expected.StateVector)
		c.stateAsUpdate, errs[5] = b64(dc.Expected.StateAsUpdate)
		c.stateAsUpdateV2, errs[6] = b64(dc.Expected.StateAsUpdateV2)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, err
		}
		for _, d := range dc.Diffs {
			sv, err1 := b64(d.TargetStateVector)
			u, err2 := b64(d.Update)
			u2, err3 := b64(d.UpdateV2)
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, err
			}
			c.diffTargets = append(c.diffTargets, sv)
			c.diffUpdates = append(c.diffUpdates, u)
			c.diffsV2 = append(c.diffsV2, u2)
			base := -1
			if d.BaseUpdateCount != nil {
				base = *d.BaseUpdateCount
			}
			c.diffBaseCounts = append(c.diffBaseCounts, base)
		}
		cases = append(cases, c)
	}
	return cases, sc.Err()
}

// hasMapItemWithOrigin reports whether a v1 update holds an item whose info byte has the
// parentSub bit together with an origin or right origin: the one thing Yjs's update-level
// writer does not copy (README caveat 2, SPEC §2.3).
func hasMapItemWithOrigin(t *testing.T, update []byte) bool {
	t.Helper()
	// Walk the v1 bytes with the lazy reader's decoder, remembering every info byte.
	d := &infoRecorder{updateDecoder: newUpdateDecoderV1(update)}
	u := &lazyUpdate{}
	require.NoError(t, readLazyStructs(d, u, false, 0))
	for _, info := range d.infos {
		if info&lazyInfoParentSub != 0 && info&(lazyInfoOrigin|lazyInfoRightOrigin) != 0 && info&lazyInfoRefMask != 0 {
			return true
		}
	}
	return false
}

// infoRecorder records the info bytes an update decoder returns.
type infoRecorder struct {
	updateDecoder
	infos []byte
}

func (r *infoRecorder) readInfo() (byte, error) {
	b, err := r.updateDecoder.readInfo()
	r.infos = append(r.infos, b)
	return b, err
}

// clearOriginParentSubBits returns a v2 update with bit 0x20 cleared on every item that has an
// origin or right origin, as Yjs's lazy writer writes them. It rewrites only the info column.
func clearOriginParentSubBits(t *testing.T, v2 []byte) []byte {
	t.Helper()
	dec := lib0.NewDecoder(v2)
	var out lib0.Encoder
	flag, err := dec.ReadVarUint()
	require.NoError(t, err)
	out.WriteVarUint(flag)
	for col := 0; col < 9; col++ {
		b, err := dec.ReadVarUint8Array()
		require.NoError(t, err)
		if col == 4 {
			// Re-run the info column: decode every run, clear the bit, encode again.
			var infos []byte
			rd := lib0.NewDecoder(b)
			for rd.Remaining() > 0 {
				v, err := rd.ReadUint8()
				require.NoError(t, err)
				count := uint64(1)
				if rd.Remaining() > 0 {
					c, err := rd.ReadVarUint()
					require.NoError(t, err)
					count = c + 1
				}
				for range count {
					infos = append(infos, v)
				}
			}
			var enc lib0.RleEncoder
			for _, v := range infos {
				if v&(lazyInfoOrigin|lazyInfoRightOrigin) != 0 && v&lazyInfoRefMask != 0 {
					v &^= lazyInfoParentSub
				}
				enc.Write(v)
			}
			b = enc.Bytes()
		}
		out.WriteVarUint8Array(b)
	}
	out.WriteRaw(dec.Rest())
	return out.Bytes()
}

// TestCodec_ConvertVectors converts every recorded update between v1 and v2 and compares with
// the twin Yjs emitted for the same transaction. Yjs's converter clears the parentSub bit of
// items that have an origin (SPEC §3.7.4); the twins carry it, so for updates holding such an
// item the comparison is made against the twin with that bit cleared.
func TestCodec_ConvertVectors(t *testing.T) {
	for _, c := range loadCodecVectors(t) {
		t.Run(c.name, func(t *testing.T) {
			require.Len(t, c.updatesV2, len(c.updates))
			for i, v1 := range c.updates {
				v2 := c.updatesV2[i]
				gotV2, err := ConvertUpdateFormatV1ToV2(v1)
				require.NoError(t, err, "update %d", i)
				gotV1, err := ConvertUpdateFormatV2ToV1(v2)
				require.NoError(t, err, "update %d", i)
				if !hasMapItemWithOrigin(t, v1) {
					assert.Equal(t, v2, gotV2, "update %d v1→v2", i)
					assert.Equal(t, v1, gotV1, "update %d v2→v1", i)
					continue
				}
				wantV2 := clearOriginParentSubBits(t, v2)
				assert.NotEqual(t, v2, wantV2, "update %d: the bit was set", i)
				assert.Equal(t, wantV2, gotV2, "update %d v1→v2", i)
				// v2→v1 clears the same bits; going back to v2 must give the same bytes.
				back, err := ConvertUpdateFormatV1ToV2(gotV1)
				require.NoError(t, err)
				assert.Equal(t, wantV2, back, "update %d v2→v1→v2", i)
				assert.Less(t, countParentSubBits(t, gotV1), countParentSubBits(t, v1), "update %d", i)
			}
		})
	}
}

// countParentSubBits counts the info bytes with 0x20 set in a v1 update.
func countParentSubBits(t *testing.T, update []byte) int {
	t.Helper()
	d := &infoRecorder{updateDecoder: newUpdateDecoderV1(update)}
	require.NoError(t, readLazyStructs(d, &lazyUpdate{}, false, 0))
	n := 0
	for _, info := range d.infos {
		if info&lazyInfoParentSub != 0 {
			n++
		}
	}
	return n
}

// TestCodec_ConvertIsStable checks that converting an already converted update reproduces it
// exactly, in both directions, for the whole-document encodings too.
func TestCodec_ConvertIsStable(t *testing.T) {
	for _, c := range loadCodecVectors(t) {
		t.Run(c.name, func(t *testing.T) {
			for _, v1 := range [][]byte{c.merged, c.stateAsUpdate} {
				v2, err := ConvertUpdateFormatV1ToV2(v1)
				require.NoError(t, err)
				back, err := ConvertUpdateFormatV2ToV1(v2)
				require.NoError(t, err)
				v2again, err := ConvertUpdateFormatV1ToV2(back)
				require.NoError(t, err)
				assert.Equal(t, v2, v2again)
				if !hasMapItemWithOrigin(t, v1) {
					assert.Equal(t, v1, back)
				}
			}
			// The merged twins were both written by Yjs's lazy writer: exact both ways.
			got, err := ConvertUpdateFormatV1ToV2(c.merged)
			require.NoError(t, err)
			assert.Equal(t, c.mergedV2, got)
			got, err = ConvertUpdateFormatV2ToV1(c.mergedV2)
			require.NoError(t, err)
			assert.Equal(t, c.merged, got)
		})
	}
}

// TestCodec_PrefixesFail checks that every proper prefix of every recorded update is rejected
// (without a panic) by the v1 and v2 decoders, and that the whole update is accepted (see
// nextPrefix for the longest ones).
func TestCodec_PrefixesFail(t *testing.T) {
	for _, c := range loadCodecVectors(t) {
		t.Run(c.name, func(t *testing.T) {
			check := func(label string, updates [][]byte, decode func([]byte) error) {
				for i, u := range updates {
					require.NoError(t, decode(u), "%s update %d", label, i)
					for n := 0; n < len(u); n = nextPrefix(n, len(u)) {
						err := decode(u[:n])
						if !assert.Error(t, err, "%s update %d prefix %d", label, i, n) {
							return
						}
						if !assert.ErrorIs(t, err, ErrMalformed, "%s update %d prefix %d", label, i, n) {
							return
						}
					}
				}
			}
			decodeV2 := func(b []byte) error { _, err := decodeLazyUpdate(b, true, false); return err }
			check("v1", c.updates, ValidateUpdate)
			check("v2", c.updatesV2, decodeV2)
			check("v1 merged", [][]byte{c.merged, c.stateAsUpdate}, ValidateUpdate)
			check("v2 merged", [][]byte{c.mergedV2, c.stateAsUpdateV2}, decodeV2)
		})
	}
}

// nextPrefix steps through prefix lengths: every one for updates up to 1 KiB; for longer
// ones (merged updates, text_long_string) every one near both ends and a stride in between,
// which keeps the test fast under -race.
func nextPrefix(n, size int) int {
	if size <= 1024 || n < 256 || n >= size-256 {
		return n + 1
	}
	return min(n+61, size-256)
}

// TestCodec_V2Empty checks the empty v2 update and the empty v1 update (SPEC §1.3.4, §2.3).
func TestCodec_V2Empty(t *testing.T) {
	emptyV2 := []byte{0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	w := &lazyWriter{enc: newUpdateEncoderV2()}
	w.finish()
	writeLazyDeleteSet(w.enc, nil)
	assert.Equal(t, emptyV2, w.enc.toBytes())
	w = &lazyWriter{enc: newUpdateEncoderV1()}
	w.finish()
	writeLazyDeleteSet(w.enc, nil)
	assert.Equal(t, []byte{0, 0}, w.enc.toBytes())
	got, err := ConvertUpdateFormatV2ToV1(emptyV2)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0}, got)
	got, err = ConvertUpdateFormatV1ToV2([]byte{0, 0})
	require.NoError(t, err)
	assert.Equal(t, emptyV2, got)
}

// TestCodec_V2KeyCache checks the key cache (SPEC §1.3.5): a back-reference in keyClock is
// resolved without reading a string, and the encoder writes the key again every time.
func TestCodec_V2KeyCache(t *testing.T) {
	// Two Format items "b"=true on root "t", client 1, keyClock [0, 0].
	var keyClock lib0.IntDiffOptRleEncoder
	keyClock.Write(0)
	keyClock.Write(0)
	var clients lib0.UintOptRleEncoder
	clients.Write(1)
	var info lib0.RleEncoder
	info.Write(6)
	info.Write(6)
	var strs lib0.StringEncoder
	for _, s := range []string{"t", "b", "t"} {
		strs.Write(s)
	}
	var parentInfo lib0.RleEncoder
	parentInfo.Write(1)
	var rest lib0.Encoder
	rest.WriteVarUint(1) // one block
	rest.WriteVarUint(2) // two structs
	rest.WriteVarUint(0) // first clock
	rest.WriteAny(true)
	rest.WriteAny(true)
	rest.WriteVarUint(0) // empty delete set
	var upd lib0.Encoder
	upd.WriteVarUint(0)
	for _, col := range [][]byte{keyClock.Bytes(), clients.Bytes(), nil, nil, info.Bytes(), strs.Bytes(), parentInfo.Bytes(), nil, nil} {
		upd.WriteVarUint8Array(col)
	}
	upd.WriteRaw(rest.Bytes())

	u, err := decodeLazyUpdate(upd.Bytes(), true, false)
	require.NoError(t, err)
	require.Len(t, u.structs, 2)
	for _, s := range u.structs {
		require.Equal(t, lazyKindItem, s.kind)
		assert.Equal(t, "b", s.item.content.key)
		assert.Equal(t, "t", lib0.StringFromUTF16(s.item.parentName))
	}
	// Re-encoded, the keyClock column counts 0, 1 and the key is written twice.
	v2, err := MergeUpdatesV2([][]byte{upd.Bytes(), upd.Bytes()})
	require.NoError(t, err)
	d, err := newUpdateDecoderV2(v2)
	require.NoError(t, err)
	dv := d.(*updateDecoderV2)
	k0, err := dv.keyClocks.Read()
	require.NoError(t, err)
	k1, err := dv.keyClocks.Read()
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1}, []int64{k0, k1})
	var want lib0.StringEncoder
	for _, s := range []string{"t", "b", "t", "b"} {
		want.Write(s)
	}
	assert.True(t, bytes.Contains(v2, want.Bytes()), "string column writes the key twice")
}

// TestCodec_V2DeleteSet checks the v2 delete-set encoding example of SPEC §1.3.6 and the
// re-sorting of an unsorted v1 delete set.
func TestCodec_V2DeleteSet(t *testing.T) {
	ds := lazyDeleteSet{101: {{0, 1}, {7, 4}, {26, 4}}}
	e1 := newDSEncoderV1()
	writeLazyDeleteSet(e1, ds)
	assert.Equal(t, []byte{0x01, 0x65, 0x03, 0x00, 0x01, 0x07, 0x04, 0x1a, 0x04}, e1.toBytes())
	e2 := newDSEncoderV2()
	writeLazyDeleteSet(e2, ds)
	assert.Equal(t, []byte{0x01, 0x65, 0x03, 0x00, 0x00, 0x06, 0x03, 0x0f, 0x03}, e2.toBytes())
	got, err := readLazyDeleteSet(newDSDecoderV2(e2.toBytes()))
	require.NoError(t, err)
	assert.Equal(t, ds, got)

	// v1 ranges (5,1), (2,1) and an empty one: written to v2 sorted, merged and without it.
	unsorted := []byte{0x00, 0x01, 0x07, 0x03, 0x05, 0x01, 0x02, 0x01, 0x09, 0x00}
	v2, err := ConvertUpdateFormatV1ToV2(unsorted)
	require.NoError(t, err)
	back, err := ConvertUpdateFormatV2ToV1(v2)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x00, 0x01, 0x07, 0x02, 0x02, 0x01, 0x05, 0x01}, back)
}
