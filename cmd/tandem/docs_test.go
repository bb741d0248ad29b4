package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// testT0 is the server time of the first record in testDB; each next one is a minute later.
var testT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// testDB writes a database with document "notes" (4 edits: "hello world", ",", delete
// "h", a map key) and "empty-ish" (one edit), and returns its path.
func testDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tandem.db")
	s, err := persistence.Open(path, persistence.Options{NoSync: true, SnapshotEvery: 2, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	conn := uuid.MustParse("11111111-2222-3333-4444-555555555555")
	add := func(name string, d *crdt.Doc, i int, fn func(tx *crdt.Transaction)) {
		cancel := d.OnUpdate(func(update []byte, _ any) {
			done := make(chan error, 1)
			s.Append(name, persistence.Record{
				Time: testT0.Add(time.Duration(i) * time.Minute), ConnID: conn, User: "ann",
				Clients: []uint64{d.ClientID()}, Update: update,
			}, func(_ uint64, err error) { done <- err })
			require.NoError(t, <-done)
		})
		d.Transact(nil, fn)
		cancel()
	}
	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	add("notes", d, 0, func(tx *crdt.Transaction) { d.Text("content").Insert(tx, 0, "hello world", nil) })
	add("notes", d, 1, func(tx *crdt.Transaction) { d.Text("content").Insert(tx, 5, ",", nil) })
	add("notes", d, 2, func(tx *crdt.Transaction) { d.Text("content").Delete(tx, 0, 1) })
	add("notes", d, 3, func(tx *crdt.Transaction) { d.Map("meta").Set(tx, "title", "Hi") })
	d2 := crdt.NewDoc(crdt.Options{ClientID: 2})
	add("other", d2, 0, func(tx *crdt.Transaction) { d2.Text("content").Insert(tx, 0, "x", nil) })
	require.Eventually(t, func() bool { // background snapshots, for --verify
		info, err := s.Info(context.Background(), "notes")
		return err == nil && info.SnapshotSeq >= 3
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, s.Close())
	return path
}

func TestDocs(t *testing.T) {
	path := testDB(t)
	var out bytes.Buffer
	require.NoError(t, docsCmd(context.Background(), []string{"--db", path}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3, out.String())
	assert.Equal(t, []string{"NAME", "OPS", "LAST", "SEQ", "BYTES", "LAST", "EDIT", "SNAPSHOT", "COMPACTED", "TO"}, strings.Fields(lines[0]))
	f := strings.Fields(lines[1])
	assert.Equal(t, "notes", f[0])
	assert.Equal(t, "4", f[1])
	assert.Equal(t, "4", f[2])
	assert.Equal(t, testT0.Add(3*time.Minute).Format(time.RFC3339), f[4])
	assert.Equal(t, "other", strings.Fields(lines[2])[0])
}

func TestDocs_LockedByServer(t *testing.T) {
	path := testDB(t)
	s, err := persistence.Open(path, persistence.Options{NoSync: true})
	require.NoError(t, err)
	defer s.Close()
	err = docsCmd(context.Background(), []string{"--db", path}, &bytes.Buffer{})
	require.ErrorIs(t, err, persistence.ErrLocked)
	assert.Contains(t, err.Error(), "database is locked by a running server")
}

func TestDocs_MissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.db")
	err := docsCmd(context.Background(), []string{"--db", missing}, &bytes.Buffer{})
	require.Error(t, err)
	assert.NoFileExists(t, missing, "a read-only command creates nothing")
}
