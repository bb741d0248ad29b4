package persistence

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// appendReq is one queued Append.
type appendReq struct {
	doc string
	rec Record
	ack func(seq uint64, err error)
	err error // set by commit for a request that failed on its own
}

// Append queues rec for doc and returns at once; it blocks only while the writer's queue
// (Options.QueueSize) is full. The store assigns rec.Seq (the next number of doc) and
// fills a zero rec.Time with the current time. The caller must not modify rec.Update or
// rec.Clients until ack runs.
//
// ack is called exactly once: from the writer goroutine after the transaction holding rec
// was committed and synced, or failed (seq 0 and the error). For a closed or read-only
// store, or an invalid document name, ack is called before Append returns. Acks of one
// store come in the order the records were queued. ack must not block and must not call
// Append.
func (s *Store) Append(doc string, rec Record, ack func(seq uint64, err error)) {
	if ack == nil {
		ack = func(uint64, error) {}
	}
	if err := checkDocName(doc); err != nil {
		ack(0, err)
		return
	}
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.closed:
		ack(0, ErrClosed)
	case s.queue == nil:
		ack(0, ErrReadOnly)
	default:
		// Close waits for this read lock, so queue is still open; the writer keeps
		// draining it, so the send completes.
		s.queue <- &appendReq{doc: doc, rec: rec, ack: ack}
	}
}

// writer is the group-commit goroutine: it takes what is queued (up to MaxBatch), commits
// it in one transaction and acknowledges it, and repeats until Close closes the queue.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*appendReq, 0, s.opts.MaxBatch)
	for req := range s.queue {
		batch = append(batch[:0], req)
	drain:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commit(batch)
		clear(batch) // drop references to the records
	}
}

// batchDoc is a document's state during one commit.
type batchDoc struct {
	d kvDoc
	m docMeta
}

// commit writes batch in one transaction, then calls every ack in order.
func (s *Store) commit(batch []*appendReq) {
	start := time.Now()
	docs := map[string]*batchDoc{}
	err := s.kv.update(func(tx kvTx) error {
		clear(docs)
		for _, r := range batch {
			r.err = nil
			r.rec.Seq = 0
			bd := docs[r.doc]
			if bd == nil {
				d, err := tx.doc(r.doc, true)
				if err != nil {
					return err
				}
				m, err := readMeta(r.doc, d)
				if err != nil {
					r.err = err // this document only; the others commit
					continue
				}
				bd = &batchDoc{d: d, m: m}
				docs[r.doc] = bd
			}
			bd.m.lastSeq++
			r.rec.Seq = bd.m.lastSeq
			v := encodeRecord(&r.rec)
			if err := bd.d.log().put(r.rec.Seq, v); err != nil {
				return fmt.Errorf("persistence: append to %q: %w", r.doc, err)
			}
			bd.m.bytes += int64(len(v))
			bd.m.tailBytes += int64(len(v))
			bd.m.lastEdit = r.rec.Time.UnixNano()
		}
		for name, bd := range docs {
			if err := bd.d.setMeta(bd.m.encode()); err != nil {
				return fmt.Errorf("persistence: append to %q: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("persistence: group commit failed", "records", len(batch), "err", err)
	} else if s.log.Enabled(context.Background(), -4) {
		s.log.Debug("persistence: committed", "records", len(batch), "docs", len(docs), "dur", time.Since(start))
	}
	for _, r := range batch {
		switch {
		case err != nil:
			r.ack(0, err)
		case r.err != nil:
			r.ack(0, r.err)
		default:
			r.ack(r.rec.Seq, nil)
		}
	}
	if err == nil && s.snapReq != nil {
		for name, bd := range docs {
			if s.overThreshold(&bd.m) {
				s.requestSnapshot(name, bd.m.lastSeq)
			}
		}
	}
}

// requestSnapshot asks the snapshotter for a snapshot of doc without blocking. A document
// whose last snapshot attempt failed is retried only after SnapshotEvery more records.
func (s *Store) requestSnapshot(doc string, lastSeq uint64) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.snapPending[doc] {
		return
	}
	if failed, ok := s.snapFailed[doc]; ok && lastSeq < failed+uint64(s.opts.SnapshotEvery) {
		return
	}
	select {
	case s.snapReq <- doc:
		s.snapPending[doc] = true
	default: // full: a later commit asks again
	}
}

// snapshotter takes background snapshots until ctx (cancelled by Close) is done.
func (s *Store) snapshotter(ctx context.Context) {
	defer close(s.snapDone)
	for {
		select {
		case <-ctx.Done():
			return
		case doc := <-s.snapReq:
			seq, err := s.snapshot(ctx, doc)
			s.snapMu.Lock()
			delete(s.snapPending, doc)
			if err != nil && ctx.Err() == nil {
				s.snapFailed[doc] = seq
				s.log.Error("persistence: snapshot failed", "doc", doc, "seq", seq, "err", err)
			} else {
				delete(s.snapFailed, doc)
			}
			s.snapMu.Unlock()
			// Appends made while it ran found it pending and did not ask again: if they
			// passed a threshold, queue the document once more.
			if err == nil {
				if need, last := s.needsSnapshot(doc); need {
					s.requestSnapshot(doc, last)
				}
			}
		}
	}
}

// needsSnapshot reports whether doc is past a snapshot threshold.
func (s *Store) needsSnapshot(doc string) (need bool, lastSeq uint64) {
	_ = s.kv.view(func(tx kvTx) error {
		d, err := tx.doc(doc, false)
		if err != nil || d == nil {
			return err
		}
		m, err := readMeta(doc, d)
		need, lastSeq = err == nil && s.overThreshold(&m), m.lastSeq
		return nil
	})
	return need, lastSeq
}

func (s *Store) overThreshold(m *docMeta) bool {
	return m.lastSeq-m.snapSeq >= uint64(s.opts.SnapshotEvery) || m.tailBytes >= s.opts.SnapshotBytes
}

// snapshot stores the state of doc at its newest record and returns that record's seq.
// The state is built outside any write transaction, so appends wait only for the put.
func (s *Store) snapshot(ctx context.Context, doc string) (uint64, error) {
	l, err := s.loadAt(ctx, doc, 0)
	if err != nil {
		return 0, err
	}
	if len(l.Tail) == 0 {
		return l.LastSeq, nil
	}
	state, err := s.build(l.Snapshot, l.Tail)
	if err != nil {
		var ce *CorruptError
		if !errors.As(err, &ce) {
			err = &CorruptError{Doc: doc, Seq: l.LastSeq, Err: err}
		} else if ce.Doc == "" {
			ce.Doc = doc
		}
		return l.LastSeq, err
	}
	if err := ctx.Err(); err != nil {
		return l.LastSeq, err
	}
	start := time.Now()
	err = s.kv.update(func(tx kvTx) error {
		return s.putSnapshot(tx, doc, l.LastSeq, state, false)
	})
	if err == nil {
		s.log.Debug("persistence: snapshot", "doc", doc, "seq", l.LastSeq, "bytes", len(state), "dur", time.Since(start))
	}
	return l.LastSeq, err
}

// putSnapshot stores state as the snapshot of doc at seq. For a background snapshot it
// prunes older background snapshots beyond KeepSnapshots; for compaction it makes seq the
// new base and deletes the records and snapshots before it. A snapshot that is no longer
// useful (compacted away meanwhile) is dropped silently.
func (s *Store) putSnapshot(tx kvTx, doc string, seq uint64, state []byte, compact bool) error {
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
	if seq > m.lastSeq {
		return fmt.Errorf("%w: seq %d beyond the log of %q (%d)", ErrInvalid, seq, doc, m.lastSeq)
	}
	if seq <= m.baseSeq || (!compact && seq <= m.snapSeq) {
		return nil
	}
	snaps := d.snaps()
	if old := snaps.get(seq); old != nil {
		m.bytes -= int64(len(old))
	}
	v := encodeSnapshot(seq, state)
	if err := snaps.put(seq, v); err != nil {
		return err
	}
	m.bytes += int64(len(v))

	// Snapshots to delete: before seq when compacting; otherwise the background ones
	// (never the base) beyond the newest KeepSnapshots.
	var keys []uint64
	if seq-1 >= m.baseSeq+1 { // (ascend's to of 0 would mean no bound)
		if err := snaps.ascend(m.baseSeq+1, seq-1, func(k uint64, _ []byte) (bool, error) {
			keys = append(keys, k)
			return true, nil
		}); err != nil {
			return err
		}
	}
	if compact {
		if m.baseSeq > 0 {
			keys = append(keys, m.baseSeq)
		}
	} else if keep := s.opts.KeepSnapshots - 1; len(keys) > keep {
		keys = keys[:len(keys)-keep]
	} else {
		keys = nil
	}
	for _, k := range keys {
		m.bytes -= int64(len(snaps.get(k)))
		if err := snaps.del(k); err != nil {
			return err
		}
	}

	if compact {
		var recs []uint64
		log := d.log()
		if err := log.ascend(m.baseSeq+1, seq, func(k uint64, v []byte) (bool, error) {
			recs = append(recs, k)
			m.bytes -= int64(len(v))
			return true, nil
		}); err != nil {
			return err
		}
		for _, k := range recs {
			if err := log.del(k); err != nil {
				return err
			}
		}
		m.baseSeq = seq
	}
	if seq >= m.snapSeq {
		m.snapSeq = seq
		m.tailBytes = 0
		if err := d.log().ascend(seq+1, 0, func(_ uint64, v []byte) (bool, error) {
			m.tailBytes += int64(len(v))
			return true, nil
		}); err != nil {
			return err
		}
	}
	return d.setMeta(m.encode())
}

// Compact folds the history of doc up to and including record toSeq into a snapshot at
// toSeq, then deletes those records and older snapshots. The snapshot is built and checked
// before anything is deleted; on any error nothing changes. Replay before toSeq is no longer
// possible afterwards (ErrCompacted). Compacting at or before an earlier compaction is a
// no-op.
func (s *Store) Compact(ctx context.Context, doc string, toSeq uint64) error {
	if s.isClosed() {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if toSeq == 0 {
		return fmt.Errorf("%w: compact needs a sequence number", ErrInvalid)
	}
	info, err := s.Info(ctx, doc)
	if err != nil {
		return err
	}
	if toSeq > info.LastSeq {
		return fmt.Errorf("%w: seq %d beyond the log of %q (%d)", ErrInvalid, toSeq, doc, info.LastSeq)
	}
	if toSeq <= info.BaseSeq {
		return nil
	}
	l, err := s.LoadAt(ctx, doc, toSeq)
	if err != nil {
		return err
	}
	state := l.Snapshot
	if len(l.Tail) > 0 {
		if s.build == nil {
			return errors.New("persistence: compaction needs a state builder")
		}
		if state, err = s.build(l.Snapshot, l.Tail); err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				err = &CorruptError{Doc: doc, Seq: toSeq, Err: err}
			} else if ce.Doc == "" {
				ce.Doc = doc
			}
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err = s.kv.update(func(tx kvTx) error {
		return s.putSnapshot(tx, doc, toSeq, state, true)
	})
	if err == nil {
		s.log.Info("persistence: compacted", "doc", doc, "seq", toSeq, "bytes", len(state))
	}
	return err
}
