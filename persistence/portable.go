package persistence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Export file format (see doc.go, "Export format").
const (
	exportMagic   = "TANDEMX"
	exportVersion = 1
	entrySnapshot = 'S'
	entryRecord   = 'R'
	entryEnd      = 'E'
	// maxEntry bounds one entry of an export file (bbolt's value limit is lower than this
	// only on 32-bit systems).
	maxEntry = 1 << 31
)

// Export writes doc to w as a portable file: its base snapshot (after Compact) and every
// record it keeps, with their metadata and checksums, read in one consistent view. It
// returns the number of records written.
func (s *Store) Export(ctx context.Context, doc string, w io.Writer) (int, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	bw := bufio.NewWriter(w)
	n := 0
	err := s.kv.view(func(tx kvTx) error {
		d, err := tx.doc(doc, false)
		if err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("%w: %q", ErrNotFound, doc)
		}
		m, err := readMeta(doc, d)
		if err != nil {
			return err
		}
		bw.WriteString(exportMagic)
		bw.WriteByte(exportVersion)
		entries := uint64(0)
		if m.baseSeq > 0 {
			v := d.snaps().get(m.baseSeq)
			if v == nil {
				return &CorruptError{Doc: doc, Seq: m.baseSeq, Err: errors.New("base snapshot missing")}
			}
			if _, err := decodeSnapshot(v); err != nil {
				return &CorruptError{Doc: doc, Seq: m.baseSeq, Err: fmt.Errorf("snapshot: %w", err)}
			}
			writeEntry(bw, entrySnapshot, v)
			entries++
		}
		next := m.baseSeq + 1
		err = d.log().ascend(next, m.lastSeq, func(seq uint64, v []byte) (bool, error) {
			if seq != next {
				return false, &CorruptError{Doc: doc, Seq: next, Err: errGap}
			}
			if rec, err := decodeRecord(v); err != nil || rec.Seq != seq {
				if err == nil {
					err = errSeq
				}
				return false, &CorruptError{Doc: doc, Seq: seq, Err: err}
			}
			writeEntry(bw, entryRecord, v)
			entries++
			n++
			next++
			return true, ctx.Err()
		})
		if err != nil {
			return err
		}
		if next != m.lastSeq+1 {
			return &CorruptError{Doc: doc, Seq: next, Err: errGap}
		}
		bw.WriteByte(entryEnd)
		bw.Write(binary.AppendUvarint(nil, entries))
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("persistence: export %q: %w", doc, err)
	}
	return n, nil
}

func writeEntry(w *bufio.Writer, kind byte, v []byte) {
	w.WriteByte(kind)
	w.Write(binary.AppendUvarint(nil, uint64(len(v))))
	w.Write(v)
}

// Import reads a file written by Export into doc, which must hold nothing yet
// (ErrExists otherwise). Records keep their sequence numbers and metadata. The whole file
// is read and checked first — checksums, dense sequence numbers, the end marker, and that
// the updates replay — and then written in one transaction, so a bad file changes nothing.
// It returns the number of records imported.
func (s *Store) Import(ctx context.Context, doc string, r io.Reader) (int, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	if s.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	if err := checkDocName(doc); err != nil {
		return 0, err
	}
	snap, snapRaw, recs, raws, err := readExport(ctx, bufio.NewReader(r))
	if err != nil {
		return 0, err
	}
	// A snapshot alone must replay too: Load would refuse the document otherwise.
	if (len(recs) > 0 || snapRaw != nil) && s.build != nil {
		if _, err := s.build(snap.State, recs); err != nil {
			return 0, fmt.Errorf("%w: updates do not replay: %w", ErrBadFormat, err)
		}
	}
	err = s.kv.update(func(tx kvTx) error {
		d, err := tx.doc(doc, true)
		if err != nil {
			return err
		}
		m, err := readMeta(doc, d)
		if err != nil {
			return err
		}
		if m.lastSeq != 0 {
			return fmt.Errorf("%w: %q has %d records", ErrExists, doc, m.lastSeq)
		}
		m = docMeta{baseSeq: snap.Seq, lastSeq: snap.Seq, snapSeq: snap.Seq}
		if snapRaw != nil {
			if err := d.snaps().put(snap.Seq, snapRaw); err != nil {
				return err
			}
			m.bytes += int64(len(snapRaw))
		}
		for i, v := range raws {
			if err := d.log().put(recs[i].Seq, v); err != nil {
				return err
			}
			m.bytes += int64(len(v))
			m.tailBytes += int64(len(v))
			m.lastSeq = recs[i].Seq
			m.lastEdit = recs[i].Time.UnixNano()
		}
		return d.setMeta(m.encode())
	})
	if err != nil {
		return 0, err
	}
	s.log.Info("persistence: imported", "doc", doc, "records", len(recs), "seq", snap.Seq)
	return len(recs), nil
}

// readExport parses and checks an export file. It returns the base snapshot (zero if none)
// and its stored bytes, and the records with their stored bytes.
func readExport(ctx context.Context, r *bufio.Reader) (snap Snapshot, snapRaw []byte, recs []Record, raws [][]byte, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadFormat, fmt.Sprintf(format, args...))
	}
	head := make([]byte, len(exportMagic)+1)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(exportMagic)]) != exportMagic {
		return snap, nil, nil, nil, bad("missing magic")
	}
	if head[len(exportMagic)] != exportVersion {
		return snap, nil, nil, nil, bad("unknown version %d", head[len(exportMagic)])
	}
	entries := uint64(0)
	for {
		kind, err := r.ReadByte()
		if err != nil {
			return snap, nil, nil, nil, bad("truncated after %d entries", entries)
		}
		if kind == entryEnd {
			count, err := binary.ReadUvarint(r)
			if err != nil || count != entries {
				return snap, nil, nil, nil, bad("end marker says %d entries, read %d", count, entries)
			}
			if _, err := r.ReadByte(); err != io.EOF {
				return snap, nil, nil, nil, bad("data after the end marker")
			}
			return snap, snapRaw, recs, raws, nil
		}
		if err := ctx.Err(); err != nil {
			return snap, nil, nil, nil, err
		}
		n, err := binary.ReadUvarint(r)
		if err != nil || n > maxEntry {
			return snap, nil, nil, nil, bad("entry %d: bad length", entries)
		}
		// Copy rather than allocate n up front: a lying length fails at EOF, not in make.
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
			return snap, nil, nil, nil, bad("entry %d: truncated", entries)
		}
		v := buf.Bytes()
		switch kind {
		case entrySnapshot:
			if entries != 0 {
				return snap, nil, nil, nil, bad("entry %d: snapshot after the start", entries)
			}
			if snap, err = decodeSnapshot(v); err != nil {
				return snap, nil, nil, nil, bad("entry %d: snapshot: %v", entries, err)
			}
			if snap.Seq == 0 {
				return snap, nil, nil, nil, bad("entry %d: snapshot at seq 0", entries)
			}
			snapRaw = v
		case entryRecord:
			rec, err := decodeRecord(v)
			if err != nil {
				return snap, nil, nil, nil, bad("entry %d: record: %v", entries, err)
			}
			if want := snap.Seq + uint64(len(recs)) + 1; rec.Seq != want {
				return snap, nil, nil, nil, bad("entry %d: record seq %d, want %d", entries, rec.Seq, want)
			}
			recs = append(recs, rec)
			raws = append(raws, v)
		default:
			return snap, nil, nil, nil, bad("entry %d: unknown kind %q", entries, kind)
		}
		entries++
	}
}
