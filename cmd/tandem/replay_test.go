package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/tandemsync/tandem/persistence"
)

func replayOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := replayCmd(context.Background(), args, &out)
	return out.String(), err
}

func TestReplay(t *testing.T) {
	path := testDB(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"latest text", nil, "== content (text) ==\nello, world\n== meta (map) ==\n{\n  \"title\": \"Hi\"\n}\n"},
		{"to 1", []string{"--to", "1"}, "== content (text) ==\nhello world\n"},
		{"to 2 json", []string{"--to", "2", "--format", "json"}, "{\n  \"content\": \"hello, world\"\n}\n"},
		{"at a time", []string{"--at", testT0.Add(90 * time.Second).Format(time.RFC3339)}, "== content (text) ==\nhello, world\n"},
		{"at before the first record", []string{"--at", testT0.Add(-time.Hour).Format(time.RFC3339), "--format", "json"}, "{}\n"},
		{"log", []string{"--log"}, strings.Join([]string{
			"1\t2026-03-01T10:00:00Z\tann\t11111111-2222-3333-4444-555555555555\t1\tinserted \"hello world\" at 0 in text \"content\"",
			"2\t2026-03-01T10:01:00Z\tann\t11111111-2222-3333-4444-555555555555\t1\tinserted \",\" at 5 in text \"content\"",
			"3\t2026-03-01T10:02:00Z\tann\t11111111-2222-3333-4444-555555555555\t1\tdeleted 1 characters at 0 in text \"content\"",
			"4\t2026-03-01T10:03:00Z\tann\t11111111-2222-3333-4444-555555555555\t1\tset key \"title\" to \"Hi\" in map \"meta\"",
		}, "\n") + "\n"},
		{"log to 1", []string{"--log", "--to", "1"}, "1\t2026-03-01T10:00:00Z\tann\t11111111-2222-3333-4444-555555555555\t1\tinserted \"hello world\" at 0 in text \"content\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := replayOut(t, append([]string{"--db", path, "--doc", "notes"}, tt.args...)...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, out)
		})
	}
}

func TestReplay_Verify(t *testing.T) {
	out, err := replayOut(t, "--db", testDB(t), "--doc", "notes", "--verify")
	require.NoError(t, err)
	assert.Regexp(t, `^ok: notes: replayed 4 records \(seq 1 to 4\), [12] snapshots match\n$`, out)
}

func TestReplay_JSONIsValid(t *testing.T) {
	out, err := replayOut(t, "--db", testDB(t), "--doc", "notes", "--format", "json")
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.Equal(t, "ello, world", v["content"])
}

func TestReplay_Errors(t *testing.T) {
	path := testDB(t)
	tests := []struct {
		name string
		args []string
		is   error
	}{
		{"no doc", []string{"--db", path}, nil},
		{"unknown doc", []string{"--db", path, "--doc", "zzz"}, persistence.ErrNotFound},
		{"to and at", []string{"--db", path, "--doc", "notes", "--to", "1", "--at", "2026-03-01T10:00:00Z"}, nil},
		{"beyond the end", []string{"--db", path, "--doc", "notes", "--to", "9"}, nil},
		{"bad time", []string{"--db", path, "--doc", "notes", "--at", "yesterday"}, nil},
		{"bad format", []string{"--db", path, "--doc", "notes", "--format", "xml"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replayOut(t, tt.args...)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestReplay_CorruptRecord(t *testing.T) {
	path := testDB(t)
	// Flip one byte of record 1 of "notes", as a disk error would.
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("docs")).Bucket([]byte("notes")).Bucket([]byte("log"))
		key := binary.BigEndian.AppendUint64(nil, 1)
		v := append([]byte{}, b.Get(key)...)
		v[len(v)-1] ^= 0xff
		return b.Put(key, v)
	}))
	require.NoError(t, db.Close())

	// The newest state loads from a snapshot (taken at seq 2 or later); every reading
	// that needs record 1 reports it.
	_, err = replayOut(t, "--db", path, "--doc", "notes")
	assert.NoError(t, err)
	for _, args := range [][]string{{"--to", "1"}, {"--log"}, {"--verify"}} {
		_, err := replayOut(t, append([]string{"--db", path, "--doc", "notes"}, args...)...)
		var ce *persistence.CorruptError
		require.ErrorAs(t, err, &ce, "args %v", args)
		assert.Equal(t, "notes", ce.Doc)
		assert.Equal(t, uint64(1), ce.Seq)
	}
}
