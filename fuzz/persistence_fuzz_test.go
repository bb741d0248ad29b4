package fuzz

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"testing"
	"time"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// memStore returns an in-memory store that logs nothing; the caller closes it.
func memStore() *persistence.MemoryStore {
	return persistence.NewMemoryStoreWith(persistence.Options{
		Logger:        slog.New(slog.DiscardHandler),
		SnapshotEvery: -1,
	})
}

// exportSeeds returns export files of a small document: its log alone, and after Compact
// (a base snapshot and the records after it).
func exportSeeds(f *testing.F) [][]byte {
	f.Helper()
	ctx := context.Background()
	s := memStore()
	defer s.Close()
	d := crdt.NewDoc(crdt.Options{ClientID: 5})
	var updates [][]byte
	cancel := d.OnUpdate(func(u []byte, _ any) { updates = append(updates, bytes.Clone(u)) })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Insert(tx, 0, "hello", nil) })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Map("m").Set(tx, "k", 1.5) })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Delete(tx, 1, 2) })
	cancel()
	for i, u := range updates {
		done := make(chan error, 1)
		s.Append("doc", persistence.Record{Time: time.Unix(1_700_000_000+int64(i), 0), User: "u",
			Clients: []uint64{5}, Update: u}, func(_ uint64, err error) { done <- err })
		if err := <-done; err != nil {
			f.Fatalf("append: %v", err)
		}
	}
	var out [][]byte
	for _, compact := range []bool{false, true} {
		if compact {
			if err := s.Compact(ctx, "doc", 2); err != nil {
				f.Fatalf("compact: %v", err)
			}
		}
		var b bytes.Buffer
		if _, err := s.Export(ctx, "doc", &b); err != nil {
			f.Fatalf("export: %v", err)
		}
		s2 := memStore()
		_, err := s2.Import(ctx, "doc", bytes.NewReader(b.Bytes()))
		s2.Close()
		if err != nil {
			f.Fatalf("seed export does not import: %v", err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fixChecksums rewrites the CRC-32C of every snapshot and record entry of an export file it
// can walk (persistence doc.go, "Export format" and "Record format": a version byte, the
// big-endian CRC-32C of the rest, then the body), so that fuzzed bodies reach the decoders
// behind the checksum.
func fixChecksums(b []byte) []byte {
	b = bytes.Clone(b)
	const head = len("TANDEMX") + 1
	if len(b) < head {
		return b
	}
	for i := head; i < len(b); {
		kind := b[i]
		if kind != 'S' && kind != 'R' {
			break
		}
		n, w := binary.Uvarint(b[i+1:])
		if w <= 0 || n > uint64(len(b)-i-1-w) {
			break
		}
		v := b[i+1+w : i+1+w+int(n)]
		if len(v) >= 5 {
			binary.BigEndian.PutUint32(v[1:5], crc32.Checksum(v[5:], castagnoli))
		}
		i += 1 + w + int(n)
	}
	return b
}

// FuzzImport imports arbitrary bytes as an export file (with fixCRC, after correcting the
// entries' checksums). A refused file must leave the store without the document. An accepted
// one must load and replay as the server loads it, pass Verify, and export to a file that
// imports into another store and exports to the same bytes.
func FuzzImport(f *testing.F) {
	for _, s := range exportSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, fixCRC bool) {
		if len(data) > maxInput {
			return
		}
		if fixCRC {
			data = fixChecksums(data)
		}
		ctx := context.Background()
		s := memStore()
		defer s.Close()
		if _, err := s.Import(ctx, "doc", bytes.NewReader(data)); err != nil {
			docs, derr := s.Docs(ctx)
			if derr != nil || len(docs) != 0 {
				t.Fatalf("refused import (%v) left documents %v (%v)", err, docs, derr)
			}
			return
		}
		if _, _, err := persistence.LoadDoc(ctx, s, "doc", crdt.Options{}); err != nil {
			t.Fatalf("accepted import does not load: %v", err)
		}
		if _, err := persistence.Verify(ctx, s.Store, "doc"); err != nil {
			t.Fatalf("accepted import does not verify: %v", err)
		}
		var e1 bytes.Buffer
		if _, err := s.Export(ctx, "doc", &e1); err != nil {
			t.Fatalf("export of an accepted import: %v", err)
		}
		s2 := memStore()
		defer s2.Close()
		if _, err := s2.Import(ctx, "doc", bytes.NewReader(e1.Bytes())); err != nil {
			t.Fatalf("own export refused: %v", err)
		}
		var e2 bytes.Buffer
		if _, err := s2.Export(ctx, "doc", &e2); err != nil {
			t.Fatalf("second export: %v", err)
		}
		if !bytes.Equal(e1.Bytes(), e2.Bytes()) {
			t.Fatalf("export not stable:\n%x\n%x", e1.Bytes(), e2.Bytes())
		}
	})
}
