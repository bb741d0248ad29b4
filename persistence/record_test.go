package persistence_test

import (
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/persistence"
)

var seedFlag = flag.Uint64("seed", 0, "seed for random tests (0: time-based)")

// seed returns the seed of a random test and logs it so a failure can be replayed.
func seed(t testing.TB) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -seed %d)", s, s)
	return s
}

func TestRecord_RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  persistence.Record
	}{
		{"zero", persistence.Record{Seq: 1, Time: time.Unix(0, 0).UTC()}},
		{"full", persistence.Record{
			Seq:     1 << 40,
			Time:    time.Date(2026, 11, 24, 5, 0, 0, 123456789, time.UTC),
			ConnID:  uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
			User:    "alice@example.com",
			Clients: []uint64{1, 1<<53 - 1, 42},
			Update:  []byte{0, 1, 2, 3, 255},
		}},
		{"before epoch", persistence.Record{Seq: 7, Time: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), Update: make([]byte, 70000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := persistence.EncodeRecord(&tt.rec)
			got, err := persistence.DecodeRecord(b)
			require.NoError(t, err)
			if len(tt.rec.Update) == 0 {
				tt.rec.Update = []byte{}
			}
			assert.Equal(t, tt.rec, got)
		})
	}
}

func TestRecord_EveryFlippedByteFails(t *testing.T) {
	rec := persistence.Record{Seq: 3, Time: time.Now(), ConnID: uuid.New(), User: "u", Clients: []uint64{9}, Update: []byte("hello")}
	b := persistence.EncodeRecord(&rec)
	for i := range b {
		c := append([]byte{}, b...)
		c[i] ^= 0x01
		_, err := persistence.DecodeRecord(c)
		assert.Error(t, err, "flipped byte %d", i)
	}
	for n := range len(b) {
		_, err := persistence.DecodeRecord(b[:n])
		assert.Error(t, err, "truncated to %d", n)
	}
	_, err := persistence.DecodeRecord(append(append([]byte{}, b...), 0))
	assert.Error(t, err, "trailing byte")
}

func TestSnapshot_RoundTripAndFlips(t *testing.T) {
	b := persistence.EncodeSnapshot(12, []byte("state"))
	s, err := persistence.DecodeSnapshot(b)
	require.NoError(t, err)
	assert.Equal(t, persistence.Snapshot{Seq: 12, State: []byte("state")}, s)
	for i := range b {
		c := append([]byte{}, b...)
		c[i] ^= 0x80
		_, err := persistence.DecodeSnapshot(c)
		assert.Error(t, err, "flipped byte %d", i)
	}
}

// TestRecord_RandomInputNeverPanics decodes random and mutated bytes: errors are fine,
// panics and huge allocations are not.
func TestRecord_RandomInputNeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(seed(t), 1))
	valid := persistence.EncodeRecord(&persistence.Record{Seq: 1, User: "x", Clients: []uint64{1, 2}, Update: []byte("abc")})
	for range 20000 {
		var b []byte
		if r.IntN(2) == 0 {
			// A random body with a valid header, so the field parser runs.
			b = make([]byte, 5+r.IntN(64))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			b[0] = 1
			binary.BigEndian.PutUint32(b[1:5], crc32.Checksum(b[5:], crc32.MakeTable(crc32.Castagnoli)))
		} else {
			b = append([]byte{}, valid...)
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		_, _ = persistence.DecodeRecord(b)
		_, _ = persistence.DecodeSnapshot(b)
	}
}

func TestCorruptError_Is(t *testing.T) {
	var err error = &persistence.CorruptError{Doc: "d", Seq: 4, Err: errors.New("x")}
	assert.ErrorIs(t, err, persistence.ErrCorrupt)
	assert.Contains(t, err.Error(), `"d"`)
	assert.Contains(t, err.Error(), "seq 4")
}
