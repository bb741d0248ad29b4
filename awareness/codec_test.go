package awareness_test

import (
	"errors"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/awareness"
	"github.com/tandemsync/tandem/crdt/lib0"
)

// vectorUpdates returns every awareness update in the golden vectors.
func vectorUpdates(t testing.TB) [][]byte {
	t.Helper()
	var rules applyRulesCase
	loadCase(t, "awareness_apply_rules", &rules)
	var enc encodingCase
	loadCase(t, "awareness_encoding", &enc)
	var out [][]byte
	for _, s := range rules.Steps {
		out = append(out, b64(t, s.Update))
	}
	for _, lu := range enc.LocalUpdates {
		out = append(out, b64(t, lu.Update))
	}
	out = append(out, b64(t, enc.MultiClientUpdate))
	require.NotEmpty(t, out)
	return out
}

// rawUpdate builds an update from raw parts: count, then per entry id, clock and the state
// bytes written with an explicit length prefix (so invalid text can be sent).
func rawUpdate(count uint64, entries ...any) []byte {
	var e lib0.Encoder
	e.WriteVarUint(count)
	for i := 0; i+2 < len(entries); i += 3 {
		e.WriteVarUint(entries[i].(uint64))
		e.WriteVarUint(entries[i+1].(uint64))
		e.WriteVarUint8Array([]byte(entries[i+2].(string)))
	}
	return e.Bytes()
}

func TestDecodeUpdate_EveryPrefixFails(t *testing.T) {
	updates := append(vectorUpdates(t),
		upd(1, 1, `{"a":[1,2,{"b":null}]}`, 1<<53-1, 1<<53-1, ` null `),
	)
	for _, u := range updates {
		full, err := awareness.DecodeUpdate(u)
		require.NoError(t, err)
		for n := 0; n < len(u); n++ {
			prefix := u[:n:n]
			_, err := awareness.DecodeUpdate(prefix)
			require.Error(t, err, "prefix %d of %x", n, u)
			assert.ErrorIs(t, err, awareness.ErrMalformed, "prefix %d of %x", n, u)

			st := newState(t, awareness.Options{})
			apply(t, st, u, t0, "A") // a populated State
			before := snapshot(st, "A", "B")
			_, err = st.ApplyUpdate(prefix, t0.Add(time.Second), "B")
			require.Error(t, err)
			assert.Equal(t, before, snapshot(st, "A", "B"))
		}
		// The full update round-trips.
		assert.Equal(t, u, awareness.EncodeEntries(full))
	}
}

func TestDecodeUpdate_Malformed(t *testing.T) {
	const max = uint64(1<<53 - 1)
	cases := map[string][]byte{
		"empty input":             {},
		"trailing byte":           append(upd(1, 1, `{}`), 0),
		"trailing after zero":     {0, 0},
		"count without entries":   {1},
		"id above 2^53-1":         rawUpdate(1, max+1, uint64(1), `{}`),
		"clock above 2^53-1":      rawUpdate(1, uint64(1), max+1, `{}`),
		"ten-byte var-uint":       {1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 2, '{', '}'},
		"length past end":         {1, 1, 1, 5, '{', '}'},
		"empty state":             rawUpdate(1, uint64(1), uint64(1), ``),
		"not json":                rawUpdate(1, uint64(1), uint64(1), `{`),
		"undefined":               rawUpdate(1, uint64(1), uint64(1), `undefined`),
		"NaN":                     rawUpdate(1, uint64(1), uint64(1), `NaN`),
		"single quotes":           rawUpdate(1, uint64(1), uint64(1), `'a'`),
		"two values":              rawUpdate(1, uint64(1), uint64(1), `{}{}`),
		"trailing garbage":        rawUpdate(1, uint64(1), uint64(1), `null x`),
		"nul prefix":              rawUpdate(1, uint64(1), uint64(1), `nul`),
		"byte order mark":         rawUpdate(1, uint64(1), uint64(1), "\ufeff{}"),
		"invalid utf-8":           rawUpdate(1, uint64(1), uint64(1), "\"\xff\""),
		"surrogate in utf-8":      rawUpdate(1, uint64(1), uint64(1), "\"\xed\xa0\x80\""),
		"raw control char":        rawUpdate(1, uint64(1), uint64(1), "\"\x01\""),
		"second entry bad":        rawUpdate(2, uint64(1), uint64(1), `{}`, uint64(2), uint64(1), `{,}`),
		"count larger than input": rawUpdate(3, uint64(1), uint64(1), `{}`, uint64(2), uint64(1), `{}`),
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := awareness.DecodeUpdate(u)
			assert.ErrorIs(t, err, awareness.ErrMalformed)
			st := newState(t, awareness.Options{})
			_, err = st.ApplyUpdate(u, t0, "A")
			assert.ErrorIs(t, err, awareness.ErrMalformed)
			assert.Empty(t, st.ClientIDs())
		})
	}
}

func TestDecodeUpdate_HugeLength(t *testing.T) {
	u := []byte{1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, '{', '}'}
	_, err := awareness.DecodeUpdate(u)
	assert.ErrorIs(t, err, awareness.ErrMalformed)
	assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	// With a size limit, the claimed length is refused before it is compared with the input.
	st := newState(t, awareness.Options{})
	_, err = st.ApplyUpdate(u, t0, "A")
	assert.ErrorIs(t, err, awareness.ErrStateTooLarge)
	st = newState(t, awareness.Options{MaxStateBytes: math.MaxInt})
	_, err = st.ApplyUpdate(u, t0, "A")
	assert.ErrorIs(t, err, awareness.ErrMalformed)
}

func TestDecodeUpdate_LibErrorsWrapped(t *testing.T) {
	_, err := awareness.DecodeUpdate([]byte{1, 1})
	assert.ErrorIs(t, err, awareness.ErrMalformed)
	assert.ErrorIs(t, err, lib0.ErrUnexpectedEOF)
	_, err = awareness.DecodeUpdate(rawUpdate(1, uint64(1<<53), uint64(1), `{}`))
	assert.ErrorIs(t, err, lib0.ErrMalformed)
}

func TestDecodeUpdate_ValidJSONForms(t *testing.T) {
	for text, removed := range map[string]bool{
		`null`:                true,
		" \t\r\nnull\n ":      true,
		`"null"`:              false,
		`[null]`:              false,
		`{}`:                  false,
		`0`:                   false,
		`-1.5e+400`:           false, // JSON.parse gives -Infinity; still JSON text
		`true`:                false,
		`"\ud800"`:            false, // lone surrogate escape: JSON.parse accepts it
		`{"a":{"a":1,"a":2}}`: false,
	} {
		t.Run(text, func(t *testing.T) {
			u := rawUpdate(1, uint64(5), uint64(1), text)
			entries, err := awareness.DecodeUpdate(u)
			require.NoError(t, err)
			require.Len(t, entries, 1)
			assert.Equal(t, text, string(entries[0].JSON))
			assert.Equal(t, removed, entries[0].Removed())
			assert.Equal(t, u, awareness.EncodeEntries(entries))

			st := newState(t, awareness.Options{})
			ch := apply(t, st, u, t0, "A")
			m, ok := st.Lookup(5)
			require.True(t, ok)
			if removed {
				assert.True(t, ch.Empty(), "null for an unknown id emits nothing")
				assert.Nil(t, m.JSON)
			} else {
				assert.Equal(t, []awareness.ClientID{5}, ch.Added)
				assert.Equal(t, text, string(m.JSON), "kept verbatim")
				assert.Equal(t, u, st.EncodeAll(), "re-sent verbatim")
			}
		})
	}
}

func TestDecodeUpdate_ZeroEntries(t *testing.T) {
	entries, err := awareness.DecodeUpdate([]byte{0})
	require.NoError(t, err)
	assert.Empty(t, entries)
	st := newState(t, awareness.Options{})
	ch := apply(t, st, []byte{0}, t0, "A")
	assert.True(t, ch.Empty())
	assert.Nil(t, ch.Update)
}

// TestDecodeUpdate_HugeCountAllocatesLittle checks that a claimed count is never used to
// size an allocation beyond what the input can hold.
func TestDecodeUpdate_HugeCountAllocatesLittle(t *testing.T) {
	var e lib0.Encoder
	e.WriteVarUint(1<<53 - 1)
	e.WriteRaw(upd(1, 1, `{}`)[1:])
	u := e.Bytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := awareness.DecodeUpdate(u)
	runtime.ReadMemStats(&after)
	assert.ErrorIs(t, err, awareness.ErrMalformed)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))

	st := newState(t, awareness.Options{MaxUpdateEntries: math.MaxInt})
	_, err = st.ApplyUpdate(u, t0, "A")
	assert.ErrorIs(t, err, awareness.ErrMalformed)
}

func TestEncodeEntries_NilIsNull(t *testing.T) {
	u := awareness.EncodeEntries([]awareness.Entry{{ClientID: 300, Clock: 2}})
	assert.Equal(t, []byte{1, 0xac, 0x02, 2, 4, 'n', 'u', 'l', 'l'}, u)
	assert.Equal(t, []byte{0}, awareness.EncodeEntries(nil))
}

// FuzzApplyUpdate checks that no input panics, that a rejected update leaves the State as it
// was, and that an accepted one round-trips through the codec and keeps the owner invariants.
func FuzzApplyUpdate(f *testing.F) {
	for _, u := range vectorUpdates(f) {
		f.Add(u, false)
	}
	f.Add(upd(1, 1, `{}`, 1, 2, ``, 2, 3, `[]`), true)
	f.Fuzz(func(t *testing.T, u []byte, otherOwner bool) {
		st, err := awareness.New[string](awareness.Options{MaxClients: 8, MaxClientsPerOwner: 3})
		require.NoError(t, err)
		_, err = st.ApplyUpdate(upd(1, 2, `{"seed":1}`, 2, 1, `{}`), t0, "A")
		require.NoError(t, err)
		owner := "A"
		if otherOwner {
			owner = "B"
		}
		before := snapshot(st, "A", "B")
		ch, err := st.ApplyUpdate(u, t0.Add(time.Second), owner)
		if err != nil {
			assert.Equal(t, before, snapshot(st, "A", "B"))
			known := []error{awareness.ErrMalformed, awareness.ErrStateTooLarge,
				awareness.ErrTooManyEntries, awareness.ErrTooManyClients, awareness.ErrNotOwner}
			ok := false
			for _, k := range known {
				ok = ok || errors.Is(err, k)
			}
			assert.True(t, ok, "unexpected error %v", err)
			return
		}
		entries, err := awareness.DecodeUpdate(u)
		require.NoError(t, err)
		again, err := awareness.DecodeUpdate(awareness.EncodeEntries(entries))
		require.NoError(t, err)
		assert.Equal(t, entries, again)
		if !ch.Empty() {
			_, err := awareness.DecodeUpdate(ch.Update)
			require.NoError(t, err)
		}
		for _, id := range st.ClientIDs() {
			m, _ := st.Lookup(id)
			o, owned := st.OwnerOf(id)
			assert.Equal(t, m.JSON != nil, owned, "state implies owner for %d", id)
			if owned {
				assert.Contains(t, st.Owned(o), id)
			}
		}
		for _, o := range []string{"A", "B"} {
			for _, id := range st.Owned(o) {
				got, _ := st.OwnerOf(id)
				assert.Equal(t, o, got)
			}
		}
		ch = st.RemoveOwner(owner, t0.Add(2*time.Second))
		assert.Empty(t, st.Owned(owner))
	})
}
