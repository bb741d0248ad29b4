package crdt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Regressions for inputs found by the fuzz targets in package fuzz. Each test names the saved
// crasher (fuzz/testdata/fuzz/FuzzX/NAME) that found the bug.

// v2EmbedUpdate returns a v2 update of one Embed (or, with a key, Format) item at client 3
// clock `clock` in root text "t", holding value v.
func v2EmbedUpdate(t *testing.T, clock uint64, key string, v any) []byte {
	t.Helper()
	c := lazyContent{ref: lazyRefEmbed, value: v}
	if key != "" {
		c = lazyContent{ref: lazyRefFormat, key: key, value: v}
	}
	enc := newUpdateEncoderV2()
	w := &lazyWriter{enc: enc}
	w.write(&lazyStruct{kind: lazyKindItem, id: ID{Client: 3, Clock: clock}, length: 1, item: &lazyItem{
		hasParent: true, parentIsName: true, parentName: []uint16{'t'}, content: c}}, 0)
	w.finish()
	writeLazyDeleteSet(enc, nil)
	return enc.toBytes()
}

// TestFuzzRegress_V2EmbedWithoutJSON (FuzzApplyUpdateV2/v2-format-bigint-pending): a v2 update
// whose Embed or Format value has no JSON text used to be accepted, after which the Doc could
// not encode its state as v1. It must be refused whole, leaving the Doc unchanged, whether its
// structs would integrate (clock 0) or wait as pending (clock 5).
func TestFuzzRegress_V2EmbedWithoutJSON(t *testing.T) {
	bad := map[string]any{
		"undefined":        lib0.Undefined{},
		"bigint":           lib0.BigInt(7),
		"nested bigint":    []any{1.0, lib0.Object{{Key: "n", Value: lib0.BigInt(1)}}},
		"bigint in object": lib0.Object{{Key: "a", Value: lib0.BigInt(-3)}},
	}
	for name, v := range bad {
		for _, key := range []string{"", "bold"} {
			for _, clock := range []uint64{0, 5} {
				d := NewDoc(Options{ClientID: 1})
				d.Transact(nil, func(tx *Transaction) { d.Text("t").Insert(tx, 0, "ab", nil) })
				before := docFingerprint(t, d)
				err := d.ApplyUpdateV2(v2EmbedUpdate(t, clock, key, v))
				assert.ErrorIs(t, err, ErrMalformed, "%s key=%q clock=%d", name, key, clock)
				assert.Equal(t, before, docFingerprint(t, d), "%s key=%q clock=%d", name, key, clock)
				_, err = d.EncodeStateAsUpdate(nil)
				require.NoError(t, err)
			}
		}
	}
}

// TestFuzzRegress_V2EmbedWithJSON: values that JSON.stringify can write are still accepted
// from v2, including undefined nested in an array or object (written as null or left out), and
// the Doc encodes its state as v1 afterwards, pending or not.
func TestFuzzRegress_V2EmbedWithJSON(t *testing.T) {
	good := map[string]any{
		"object":            lib0.Object{{Key: "image", Value: "x.png"}},
		"null":              nil,
		"nested undefined":  []any{lib0.Undefined{}, 2.0},
		"undefined member":  lib0.Object{{Key: "u", Value: lib0.Undefined{}}},
		"bytes":             []byte{1, 2},
		"true":              true,
		"integer and float": []any{1.0, 2.5},
	}
	for name, v := range good {
		for _, key := range []string{"", "bold"} {
			for _, clock := range []uint64{0, 5} {
				d := NewDoc(Options{ClientID: 1})
				require.NoError(t, d.ApplyUpdateV2(v2EmbedUpdate(t, clock, key, v)), "%s key=%q clock=%d", name, key, clock)
				_, err := d.EncodeStateAsUpdate(nil)
				require.NoError(t, err, "%s key=%q clock=%d", name, key, clock)
			}
		}
	}
}

// TestFuzzRegress_V2CrasherFormatBigint replays the saved crasher: Format items at client 48
// from clock 48 (so pending), one holding a BigInt. Yjs 13.6.33 accepts it and then throws
// "Do not know how to serialize a BigInt" from encodeStateAsUpdate.
func TestFuzzRegress_V2CrasherFormatBigint(t *testing.T) {
	update := []byte("0\x03010\x0f0A\x00000000000000\x04\x18X\x030\x03\n\x010\x05\xc6\x02\xc5\x00\xc6' 00000000000000000000000000000000A00000\x00\x00\x00\x01\a0}0xxw\x1b000000000000000000000000000xxz00000000\x00")
	d := NewDoc(Options{ClientID: 1})
	d.Transact(nil, func(tx *Transaction) { d.Text("text").Insert(tx, 0, "hello world", nil) })
	before := docFingerprint(t, d)
	require.ErrorIs(t, d.ApplyUpdateV2(update), ErrMalformed)
	require.Equal(t, before, docFingerprint(t, d))
	_, err := d.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
}

// TestFuzzRegress_DiffColumnAbove2p52 (FuzzApplyUpdate/v1-clock-above-2-52-no-v2-form): a v1
// update whose right origin has a clock of at least 2^52 was accepted, but v2 writes that
// clock into an IntDiffOptRle column as diff·2, a var-int above 2^53−1 that the v2 reader
// refused, so the Doc (holding the item as pending) could not encode itself. Yjs writes and
// reads such runs; the reader now accepts them up to 2^54−1.
func TestFuzzRegress_DiffColumnAbove2p52(t *testing.T) {
	update := []byte("\x01\x01\x8700C0\x87\x87\x87\x87\x87\x87\x87\b\x010\x00")
	d := NewDoc(Options{ClientID: 1})
	require.NoError(t, d.ApplyUpdate(update))
	for _, v2 := range []bool{false, true} {
		var state []byte
		var err error
		if v2 {
			state, err = d.EncodeStateAsUpdateV2(nil)
		} else {
			state, err = d.EncodeStateAsUpdate(nil)
		}
		require.NoError(t, err, "v2 %v", v2)
		d2 := NewDoc(Options{ClientID: 2})
		if v2 {
			require.NoError(t, d2.ApplyUpdateV2(state))
		} else {
			require.NoError(t, d2.ApplyUpdate(state))
		}
		ps, _ := d2.HasPending()
		assert.True(t, ps, "the item still waits for client 48")
	}
	v2, err := ConvertUpdateFormatV1ToV2(update)
	require.NoError(t, err)
	v1, err := ConvertUpdateFormatV2ToV1(v2)
	require.NoError(t, err)
	assert.Equal(t, update, v1)

	// The column itself, with clocks (0 … 2^53−1) jumping across the whole range both ways.
	values := []int64{1<<53 - 1, 0, 1<<53 - 1, 1<<53 - 1, 0, 0, 5, 1<<53 - 1}
	var e lib0.IntDiffOptRleEncoder
	for _, v := range values {
		e.Write(v)
	}
	dec := lib0.NewIntDiffOptRleDecoder(e.Bytes())
	for i, want := range values {
		got, err := dec.Read()
		require.NoError(t, err, "value %d", i)
		assert.Equal(t, want, got, "value %d", i)
	}
}
