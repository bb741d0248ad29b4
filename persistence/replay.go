package persistence

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"

	"github.com/tandemsync/tandem/crdt"
)

// Loader is what LoadDoc needs from a store; *Store and *MemoryStore have it.
type Loader interface {
	LoadAt(ctx context.Context, doc string, toSeq uint64) (*Loaded, error)
}

// LoadDoc builds the document doc from its newest snapshot and the records after it, and
// returns it with the seq of its newest record. A snapshot or record that does not apply
// yields a *CorruptError naming doc and the seq; nothing partial is returned.
func LoadDoc(ctx context.Context, l Loader, doc string, opts crdt.Options) (*crdt.Doc, uint64, error) {
	return LoadDocAt(ctx, l, doc, 0, opts)
}

// LoadDocAt is LoadDoc as of record toSeq (0: the newest).
func LoadDocAt(ctx context.Context, l Loader, doc string, toSeq uint64, opts crdt.Options) (*crdt.Doc, uint64, error) {
	ld, err := l.LoadAt(ctx, doc, toSeq)
	if err != nil {
		return nil, 0, err
	}
	d := crdt.NewDoc(opts)
	if err := replayInto(ctx, d, ld.Snapshot, ld.SnapshotSeq, ld.Tail); err != nil {
		return nil, 0, withDoc(err, doc)
	}
	return d, ld.LastSeq, nil
}

// replayInto applies a snapshot taken at snapSeq and then tail to d.
func replayInto(ctx context.Context, d *crdt.Doc, snap []byte, snapSeq uint64, tail []Record) error {
	if len(snap) > 0 {
		if err := d.ApplyUpdate(snap); err != nil {
			return &CorruptError{Seq: snapSeq, Err: fmt.Errorf("snapshot does not apply: %w", err)}
		}
	}
	for i := range tail {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := d.ApplyUpdate(tail[i].Update); err != nil {
			return &CorruptError{Seq: tail[i].Seq, Err: fmt.Errorf("update does not apply: %w", err)}
		}
	}
	return nil
}

// withDoc fills in the document name of a *CorruptError.
func withDoc(err error, doc string) error {
	var ce *CorruptError
	if errors.As(err, &ce) && ce.Doc == "" {
		ce.Doc = doc
	}
	return err
}

// buildState is the Store's state builder: snapshot + tail → one v1 state update.
func buildState(base []byte, tail []Record) ([]byte, error) {
	d := crdt.NewDoc(crdt.Options{})
	if err := replayInto(context.Background(), d, base, 0, tail); err != nil {
		return nil, err
	}
	return d.EncodeStateAsUpdate(nil)
}

// VerifyReport summarizes a successful Verify.
type VerifyReport struct {
	BaseSeq   uint64 // the log starts after this (Compact); 0 if never compacted
	LastSeq   uint64
	Records   int // records replayed
	Snapshots int // snapshots compared (the base snapshot is the starting point, not counted)
}

// Verify replays the whole kept log of doc from its start (the empty document, or the
// base snapshot after Compact) and checks that every snapshot equals the replayed state at
// its seq: equal state vectors and equal content (ToJSON). A mismatch or a record that
// does not apply yields a *CorruptError.
func Verify(ctx context.Context, s *Store, doc string) (VerifyReport, error) {
	info, err := s.Info(ctx, doc)
	if err != nil {
		return VerifyReport{}, err
	}
	snaps, err := s.Snapshots(ctx, doc)
	if err != nil {
		return VerifyReport{}, err
	}
	recs, err := s.History(ctx, doc, 0, 0)
	if err != nil {
		return VerifyReport{}, err
	}
	rep := VerifyReport{BaseSeq: info.BaseSeq, LastSeq: info.LastSeq, Records: len(recs)}
	d := crdt.NewDoc(crdt.Options{})
	if info.BaseSeq > 0 {
		if len(snaps) == 0 || snaps[0].Seq != info.BaseSeq {
			return rep, &CorruptError{Doc: doc, Seq: info.BaseSeq, Err: errors.New("base snapshot missing")}
		}
		if err := replayInto(ctx, d, snaps[0].State, snaps[0].Seq, nil); err != nil {
			return rep, withDoc(err, doc)
		}
		snaps = snaps[1:]
	}
	check := func(seq uint64) error {
		for len(snaps) > 0 && snaps[0].Seq == seq {
			sd := crdt.NewDoc(crdt.Options{})
			if err := sd.ApplyUpdate(snaps[0].State); err != nil {
				return &CorruptError{Doc: doc, Seq: seq, Err: fmt.Errorf("snapshot does not apply: %w", err)}
			}
			if !maps.Equal(sd.StateVector(), d.StateVector()) {
				return &CorruptError{Doc: doc, Seq: seq, Err: errors.New("snapshot state vector differs from the replayed log")}
			}
			if !reflect.DeepEqual(sd.ToJSON(), d.ToJSON()) {
				return &CorruptError{Doc: doc, Seq: seq, Err: errors.New("snapshot content differs from the replayed log")}
			}
			rep.Snapshots++
			snaps = snaps[1:]
		}
		return nil
	}
	for i := range recs {
		if err := replayInto(ctx, d, nil, 0, recs[i:i+1]); err != nil {
			return rep, withDoc(err, doc)
		}
		if err := check(recs[i].Seq); err != nil {
			return rep, err
		}
	}
	if len(snaps) > 0 {
		return rep, &CorruptError{Doc: doc, Seq: snaps[0].Seq, Err: errors.New("snapshot beyond the log")}
	}
	return rep, nil
}

// Op is one record of a document's history with a description of what it did.
type Op struct {
	Record
	Changes []string // e.g. `inserted "abc" at 12 in text "content"`; never empty
}

// Describe replays doc up to fromSeq-1 and then calls fn for each record fromSeq … toSeq
// (0: the oldest kept / the newest) with what it changed, found by reading every root
// before and after the update (ToJSON) and diffing them.
func Describe(ctx context.Context, s *Store, doc string, fromSeq, toSeq uint64, fn func(Op) error) error {
	info, err := s.Info(ctx, doc)
	if err != nil {
		return err
	}
	if fromSeq == 0 {
		fromSeq = info.BaseSeq + 1
	}
	var d *crdt.Doc
	if fromSeq-1 == 0 {
		d = crdt.NewDoc(crdt.Options{})
	} else if d, _, err = LoadDocAt(ctx, s, doc, fromSeq-1, crdt.Options{}); err != nil {
		return err
	}
	recs, err := s.History(ctx, doc, fromSeq, toSeq)
	if err != nil {
		return err
	}
	before := d.ToJSON()
	for _, rec := range recs {
		if err := d.ApplyUpdate(rec.Update); err != nil {
			return &CorruptError{Doc: doc, Seq: rec.Seq, Err: fmt.Errorf("update does not apply: %w", err)}
		}
		after := d.ToJSON()
		if err := fn(Op{Record: rec, Changes: DescribeChange(before, after)}); err != nil {
			return err
		}
		before = after
	}
	return nil
}
