package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/persistence"
)

func TestExportImport(t *testing.T) {
	ctx := context.Background()
	src := testDB(t)
	file := filepath.Join(t.TempDir(), "notes.tandem")
	var out bytes.Buffer
	require.NoError(t, exportCmd(ctx, []string{"--db", src, "--doc", "notes", "--out", file}, &out))
	assert.Contains(t, out.String(), "exported 4 records")
	assert.FileExists(t, file)

	dst := filepath.Join(t.TempDir(), "other.db")
	out.Reset()
	require.NoError(t, importCmd(ctx, []string{"--db", dst, "--doc", "copy", "--in", file}, &out))
	assert.Contains(t, out.String(), "imported 4 records")

	a, err := replayOut(t, "--db", src, "--doc", "notes", "--log")
	require.NoError(t, err)
	b, err := replayOut(t, "--db", dst, "--doc", "copy", "--log")
	require.NoError(t, err)
	assert.Equal(t, a, b, "records and their metadata survive the trip")

	err = importCmd(ctx, []string{"--db", dst, "--doc", "copy", "--in", file}, &out)
	assert.ErrorIs(t, err, persistence.ErrExists)

	bad := filepath.Join(t.TempDir(), "bad.tandem")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bad, data[:len(data)/2], 0o600))
	err = importCmd(ctx, []string{"--db", dst, "--doc", "half", "--in", bad}, &out)
	assert.ErrorIs(t, err, persistence.ErrBadFormat)

	err = exportCmd(ctx, []string{"--db", src, "--doc", "zzz", "--out", filepath.Join(t.TempDir(), "x")}, &out)
	assert.ErrorIs(t, err, persistence.ErrNotFound)
}

func TestCompact(t *testing.T) {
	ctx := context.Background()
	path := testDB(t)
	before, err := replayOut(t, "--db", path, "--doc", "notes")
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, compactCmd(ctx, []string{"--db", path, "--doc", "notes", "--to", "3"}, &out))
	assert.Equal(t, "compacted \"notes\": history up to 3 is a snapshot, 1 records kept\n", out.String())
	after, err := replayOut(t, "--db", path, "--doc", "notes")
	require.NoError(t, err)
	assert.Equal(t, before, after)
	_, err = replayOut(t, "--db", path, "--doc", "notes", "--to", "2")
	assert.ErrorIs(t, err, persistence.ErrCompacted)
	v, err := replayOut(t, "--db", path, "--doc", "notes", "--verify")
	require.NoError(t, err)
	assert.Contains(t, v, "ok: notes: replayed 1 records (seq 4 to 4)")
	assert.Error(t, compactCmd(ctx, []string{"--db", path, "--doc", "notes"}, &out), "--to required")
}
