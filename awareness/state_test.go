package awareness_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/awareness"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newState(t *testing.T, opts awareness.Options) *awareness.State[string] {
	t.Helper()
	st, err := awareness.New[string](opts)
	require.NoError(t, err)
	return st
}

// upd encodes entries given as (id, clock, json) triples; json "" means null.
func upd(triples ...any) []byte {
	var entries []awareness.Entry
	for i := 0; i+2 < len(triples); i += 3 {
		e := awareness.Entry{
			ClientID: awareness.ClientID(triples[i].(int)),
			Clock:    uint64(triples[i+1].(int)),
		}
		if s := triples[i+2].(string); s != "" {
			e.JSON = []byte(s)
		}
		entries = append(entries, e)
	}
	return awareness.EncodeEntries(entries)
}

func apply(t *testing.T, st *awareness.State[string], update []byte, now time.Time, owner string) awareness.Change {
	t.Helper()
	ch, err := st.ApplyUpdate(update, now, owner)
	require.NoError(t, err)
	return ch
}

// snapshot captures everything observable about a State, to prove a rejected call changed
// nothing.
func snapshot(st *awareness.State[string], owners ...string) string {
	var b strings.Builder
	for _, id := range st.ClientIDs() {
		m, _ := st.Lookup(id)
		o, owned := st.OwnerOf(id)
		b.WriteString(strings.Join([]string{
			itoa(uint64(id)), itoa(m.Clock), string(m.JSON), m.LastUpdated.String(), o, boolStr(owned),
		}, "|"))
		b.WriteByte('\n')
	}
	for _, o := range owners {
		b.WriteString(o)
		for _, id := range st.Owned(o) {
			b.WriteString(" " + itoa(uint64(id)))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func boolStr(b bool) string {
	if b {
		return "owned"
	}
	return "free"
}

func TestNew_RejectsNegativeOptions(t *testing.T) {
	for name, o := range map[string]awareness.Options{
		"timeout":   {Timeout: -1},
		"state":     {MaxStateBytes: -1},
		"entries":   {MaxUpdateEntries: -1},
		"clients":   {MaxClients: -1},
		"per owner": {MaxClientsPerOwner: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := awareness.New[string](o)
			assert.Error(t, err)
		})
	}
}

func TestState_Ownership_OtherOwnerRejected(t *testing.T) {
	st := newState(t, awareness.Options{})
	ch := apply(t, st, upd(10, 1, `{"n":"a"}`), t0, "A")
	assert.Equal(t, []awareness.ClientID{10}, ch.Added)
	owner, ok := st.OwnerOf(10)
	require.True(t, ok)
	assert.Equal(t, "A", owner)
	assert.Equal(t, []awareness.ClientID{10}, st.Owned("A"))

	before := snapshot(st, "A", "B")
	for name, u := range map[string][]byte{
		"newer state":                upd(10, 2, `{"n":"spoof"}`),
		"null at same clock":         upd(10, 1, ""),
		"null at newer clock":        upd(10, 5, ""),
		"valid entry then violation": upd(11, 1, `{"n":"b"}`, 10, 3, `{}`),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := st.ApplyUpdate(u, t0.Add(time.Second), "B")
			require.Error(t, err)
			assert.ErrorIs(t, err, awareness.ErrNotOwner)
			var oe *awareness.OwnerError
			require.True(t, errors.As(err, &oe))
			assert.Equal(t, awareness.ClientID(10), oe.ClientID)
			assert.Equal(t, before, snapshot(st, "A", "B"), "a rejected update changes nothing")
		})
	}

	// Echoes (entries that would not be applied) from another owner are not violations.
	ch = apply(t, st, upd(10, 1, `{"n":"a"}`), t0.Add(time.Second), "B")
	assert.True(t, ch.Empty())
	assert.Nil(t, ch.Update)
	ch = apply(t, st, upd(10, 0, ``), t0.Add(time.Second), "B")
	assert.True(t, ch.Empty())
	assert.Equal(t, before, snapshot(st, "A", "B"))

	// The owner itself may update.
	ch = apply(t, st, upd(10, 2, `{"n":"a2"}`), t0.Add(2*time.Second), "A")
	assert.Equal(t, []awareness.ClientID{10}, ch.Updated)
}

func TestState_Ownership_NullDetachesAndAnotherOwnerClaims(t *testing.T) {
	st := newState(t, awareness.Options{})
	apply(t, st, upd(10, 1, `{}`), t0, "A")
	ch := apply(t, st, upd(10, 1, ``), t0, "A")
	assert.Equal(t, []awareness.ClientID{10}, ch.Removed)
	_, owned := st.OwnerOf(10)
	assert.False(t, owned)
	assert.Empty(t, st.Owned("A"))

	// A id without a state is free: a newer entry from B claims it (as updated: it is known).
	ch = apply(t, st, upd(10, 2, `{"n":"b"}`), t0, "B")
	assert.Equal(t, []awareness.ClientID{10}, ch.Updated)
	owner, ok := st.OwnerOf(10)
	require.True(t, ok)
	assert.Equal(t, "B", owner)
	assert.Equal(t, []awareness.ClientID{10}, st.Owned("B"))
	// RemoveOwner(A) no longer touches it.
	ch = st.RemoveOwner("A", t0)
	assert.True(t, ch.Empty())
	assert.Nil(t, ch.Update)
}

func TestState_Ownership_Takeover(t *testing.T) {
	st := newState(t, awareness.Options{AllowTakeover: true})
	apply(t, st, upd(10, 1, `{"n":"a"}`, 11, 1, `{}`), t0, "A")
	ch := apply(t, st, upd(10, 2, `{"n":"b"}`), t0, "B")
	assert.Equal(t, []awareness.ClientID{10}, ch.Updated)
	owner, _ := st.OwnerOf(10)
	assert.Equal(t, "B", owner)
	assert.Equal(t, []awareness.ClientID{11}, st.Owned("A"))
	assert.Equal(t, []awareness.ClientID{10}, st.Owned("B"))

	ch = st.RemoveOwner("A", t0)
	assert.Equal(t, []awareness.ClientID{11}, ch.Removed)
	m, _ := st.Lookup(10)
	assert.NotNil(t, m.JSON, "10 moved to B and survives A's close")
}

func TestState_RemoveOwner(t *testing.T) {
	st := newState(t, awareness.Options{})
	apply(t, st, upd(30, 4, `{"c":3}`, 10, 7, `{"c":1}`), t0, "A")
	apply(t, st, upd(20, 2, `{"c":2}`), t0, "B")

	ch := st.RemoveOwner("A", t0.Add(time.Second))
	assert.Equal(t, []awareness.ClientID{10, 30}, ch.Removed)
	assert.Empty(t, ch.Added)
	assert.Empty(t, ch.Updated)
	// Removal is null at the retained clock, as the reference server sends it.
	assert.Equal(t, upd(10, 7, "", 30, 4, ""), ch.Update)
	for _, id := range []awareness.ClientID{10, 30} {
		m, ok := st.Lookup(id)
		require.True(t, ok, "clock is kept")
		assert.Nil(t, m.JSON)
	}
	assert.Empty(t, st.Owned("A"))
	assert.Equal(t, 1, st.Len())

	// The removal broadcast, echoed back by a client, is ignored (equal clock, no state).
	ch = apply(t, st, ch.Update, t0.Add(time.Second), "B")
	assert.True(t, ch.Empty())
	// A fast reconnect re-sending the same clock is ignored too (SPEC §4.3 quirk 3) ...
	ch = apply(t, st, upd(10, 7, `{"c":1}`), t0.Add(2*time.Second), "C")
	assert.True(t, ch.Empty())
	// ... until the client's next renewal.
	ch = apply(t, st, upd(10, 8, `{"c":1}`), t0.Add(3*time.Second), "C")
	assert.Equal(t, []awareness.ClientID{10}, ch.Updated)

	// Removing an unknown owner is a no-op.
	ch = st.RemoveOwner("nobody", t0)
	assert.True(t, ch.Empty())
}

func TestState_RemoveStates(t *testing.T) {
	st := newState(t, awareness.Options{})
	apply(t, st, upd(1, 3, `{}`, 2, 5, `[1]`), t0, "A")
	ch := st.RemoveStates([]awareness.ClientID{2, 99, 2, 1}, t0)
	assert.Equal(t, []awareness.ClientID{2, 1}, ch.Removed)
	assert.Equal(t, upd(2, 5, "", 1, 3, ""), ch.Update)
	assert.Empty(t, st.Owned("A"))
	assert.Nil(t, st.EncodeAll())
	ch = st.RemoveStates([]awareness.ClientID{1, 2}, t0)
	assert.True(t, ch.Empty())
	assert.Nil(t, ch.Update)
}

func TestState_EncodeUpdate(t *testing.T) {
	st := newState(t, awareness.Options{})
	apply(t, st, upd(7, 2, ` {"a" : 1} `, 5, 1, `"x"`, 9, 4, ``), t0, "A")
	// Unknown ids are skipped; states are re-sent byte for byte; ids without state as null.
	assert.Equal(t, upd(9, 4, "", 7, 2, ` {"a" : 1} `), st.EncodeUpdate(9, 8, 7))
	assert.Equal(t, []byte{0}, st.EncodeUpdate())
	assert.Equal(t, upd(5, 1, `"x"`, 7, 2, ` {"a" : 1} `), st.EncodeAll())
}

func TestState_StateIsCopied(t *testing.T) {
	st := newState(t, awareness.Options{})
	u := upd(1, 1, `{"a":1}`)
	apply(t, st, u, t0, "A")
	for i := range u {
		u[i] = 0xff
	}
	m, _ := st.Lookup(1)
	assert.Equal(t, `{"a":1}`, string(m.JSON))
}

func TestState_SameIDTwiceInOneUpdate(t *testing.T) {
	st := newState(t, awareness.Options{})
	ch := apply(t, st, upd(4, 1, `{"v":1}`, 4, 2, `{"v":2}`, 4, 2, `{"v":3}`), t0, "A")
	// y-protocols handles entries one by one: added, then updated, then ignored.
	assert.Equal(t, []awareness.ClientID{4}, ch.Added)
	assert.Equal(t, []awareness.ClientID{4}, ch.Updated)
	assert.Equal(t, upd(4, 2, `{"v":2}`), ch.Update, "each id broadcast once")
}

func TestState_Expire(t *testing.T) {
	st := newState(t, awareness.Options{})
	apply(t, st, upd(1, 1, `{"a":1}`), t0, "A")
	apply(t, st, upd(2, 1, `{"b":1}`), t0.Add(10*time.Second), "B")
	apply(t, st, upd(3, 9, ``), t0, "B") // null for an unknown id: clock only

	ch := st.Expire(t0.Add(30*time.Second - time.Millisecond))
	assert.True(t, ch.Empty())
	assert.Nil(t, ch.Update)

	// Renewal (next clock, same content) keeps 1 alive.
	ch = apply(t, st, upd(1, 2, `{"a":1}`), t0.Add(20*time.Second), "A")
	assert.Equal(t, []awareness.ClientID{1}, ch.Updated)

	// At exactly 30 s: 3's clock is forgotten; 2 (updated at +10 s) survives until +40 s.
	ch = st.Expire(t0.Add(30 * time.Second))
	assert.True(t, ch.Empty())
	_, ok := st.Lookup(3)
	assert.False(t, ok, "a clock without a state is forgotten after the timeout")

	ch = st.Expire(t0.Add(40 * time.Second))
	assert.Equal(t, []awareness.ClientID{2}, ch.Removed)
	assert.Equal(t, upd(2, 1, ""), ch.Update)
	assert.Empty(t, st.Owned("B"))
	m, ok := st.Lookup(2)
	require.True(t, ok)
	assert.Nil(t, m.JSON)
	assert.Equal(t, uint64(1), m.Clock)

	ch = st.Expire(t0.Add(50 * time.Second))
	assert.Equal(t, []awareness.ClientID{1}, ch.Removed)

	// The removed ids keep their clocks for one more timeout, then are forgotten.
	ch = st.Expire(t0.Add(69 * time.Second))
	assert.True(t, ch.Empty())
	assert.Equal(t, []awareness.ClientID{1, 2}, st.ClientIDs())
	st.Expire(t0.Add(70 * time.Second))
	assert.Equal(t, []awareness.ClientID{1}, st.ClientIDs())
	st.Expire(t0.Add(80 * time.Second))
	assert.Empty(t, st.ClientIDs())

	// A forgotten id that comes back is added again, even at an old clock.
	ch = apply(t, st, upd(2, 1, `{"b":1}`), t0.Add(81*time.Second), "C")
	assert.Equal(t, []awareness.ClientID{2}, ch.Added)
}

func TestState_Expire_CustomTimeoutAndClockGoingBack(t *testing.T) {
	st := newState(t, awareness.Options{Timeout: 5 * time.Second})
	apply(t, st, upd(1, 1, `{}`), t0, "A")
	assert.True(t, st.Expire(t0.Add(-time.Hour)).Empty())
	assert.True(t, st.Expire(t0.Add(4*time.Second)).Empty())
	assert.Equal(t, []awareness.ClientID{1}, st.Expire(t0.Add(5*time.Second)).Removed)
}

func TestState_Caps(t *testing.T) {
	t.Run("state size", func(t *testing.T) {
		st := newState(t, awareness.Options{MaxStateBytes: 10})
		apply(t, st, upd(1, 1, `"12345678"`), t0, "A") // 10 bytes
		before := snapshot(st, "A")
		_, err := st.ApplyUpdate(upd(1, 2, `"123456789"`), t0, "A")
		assert.ErrorIs(t, err, awareness.ErrStateTooLarge)
		assert.Equal(t, before, snapshot(st, "A"))
	})
	t.Run("state size default", func(t *testing.T) {
		st := newState(t, awareness.Options{})
		big := `"` + strings.Repeat("x", awareness.DefaultMaxStateBytes-2) + `"`
		apply(t, st, upd(1, 1, big), t0, "A")
		_, err := st.ApplyUpdate(upd(1, 2, big+" "), t0, "A")
		assert.ErrorIs(t, err, awareness.ErrStateTooLarge)
	})
	t.Run("entries per update", func(t *testing.T) {
		st := newState(t, awareness.Options{MaxUpdateEntries: 2})
		apply(t, st, upd(1, 1, `1`, 2, 1, `2`), t0, "A")
		_, err := st.ApplyUpdate(upd(1, 2, `1`, 2, 2, `2`, 3, 1, `3`), t0, "A")
		assert.ErrorIs(t, err, awareness.ErrTooManyEntries)
		// The claimed count alone is enough to refuse, before reading any entry.
		_, err = st.ApplyUpdate([]byte{3}, t0, "A")
		assert.ErrorIs(t, err, awareness.ErrTooManyEntries)
	})
	t.Run("clients per document", func(t *testing.T) {
		st := newState(t, awareness.Options{MaxClients: 3})
		apply(t, st, upd(1, 1, `1`, 2, 1, ``), t0, "A")
		before := snapshot(st, "A", "B")
		_, err := st.ApplyUpdate(upd(3, 1, `3`, 4, 1, ``), t0, "B")
		assert.ErrorIs(t, err, awareness.ErrTooManyClients)
		assert.Equal(t, before, snapshot(st, "A", "B"))
		// Entries that are not applied do not count.
		apply(t, st, upd(3, 1, `3`, 4, 0, `{}`, 1, 1, `1`), t0, "B")
		// After the timeout the stateless id 2 is forgotten, making room.
		st.Expire(t0.Add(awareness.DefaultTimeout))
		apply(t, st, upd(4, 1, `4`), t0.Add(awareness.DefaultTimeout), "B")
	})
	t.Run("clients per owner", func(t *testing.T) {
		st := newState(t, awareness.Options{MaxClientsPerOwner: 2})
		apply(t, st, upd(1, 1, `1`, 2, 1, `2`), t0, "A")
		before := snapshot(st, "A", "B")
		_, err := st.ApplyUpdate(upd(3, 1, `3`), t0, "A")
		assert.ErrorIs(t, err, awareness.ErrTooManyClients)
		assert.Equal(t, before, snapshot(st, "A", "B"))
		// Updating owned ids and releasing one in the same update is fine.
		apply(t, st, upd(1, 2, `1`, 2, 2, ``, 3, 1, `3`), t0, "A")
		assert.Equal(t, []awareness.ClientID{1, 3}, st.Owned("A"))
		// Another owner has its own budget.
		apply(t, st, upd(4, 1, `4`, 5, 1, `5`), t0, "B")
	})
}
