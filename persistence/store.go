package persistence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"
)

// Options configure a Store. The zero value works.
type Options struct {
	// ReadOnly opens the file with a shared lock for inspection (replay, docs, export);
	// Append, Compact and Import then fail with ErrReadOnly. Zero: read-write.
	ReadOnly bool
	// LockTimeout is how long Open waits for the file lock before ErrLocked; 0 = 1s.
	LockTimeout time.Duration
	// NoSync skips fsync (tests only: a crash may lose acknowledged records). Zero: fsync.
	NoSync bool
	// MaxBatch is the most records one group commit holds; 0 = 1024.
	MaxBatch int
	// QueueSize is how many appends wait for the writer before Append blocks; 0 = 4096.
	QueueSize int
	// SnapshotEvery is the number of records after the newest snapshot that triggers a
	// background snapshot; 0 = 1000, negative = no background snapshots.
	SnapshotEvery int
	// SnapshotBytes is the stored size of those records that also triggers one; 0 = 4 MiB.
	SnapshotBytes int64
	// KeepSnapshots is how many background snapshots are kept per document (the snapshot
	// that Compact made is always kept as well); 0 = 2.
	KeepSnapshots int
	// Logger receives lifecycle messages and storage errors; nil = slog.Default().
	Logger *slog.Logger

	build func(base []byte, tail []Record) ([]byte, error) // tests only; nil = buildState
}

func (o *Options) fill() {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 1000
	}
	if o.SnapshotBytes <= 0 {
		o.SnapshotBytes = 4 << 20
	}
	if o.KeepSnapshots <= 0 {
		o.KeepSnapshots = 2
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.build == nil {
		o.build = buildState
	}
}

// MaxDocNameLen is the longest document name the store accepts, in bytes.
const MaxDocNameLen = 1024

// Loaded is what Load returns: the newest snapshot and the records after it.
type Loaded struct {
	Snapshot    []byte   // v1 state update at SnapshotSeq, nil if none
	SnapshotSeq uint64   // 0 if none
	Tail        []Record // records SnapshotSeq+1 … LastSeq, in order
	LastSeq     uint64   // newest record (or the point asked for by LoadAt)
}

// DocInfo summarizes one stored document.
type DocInfo struct {
	Name        string
	Ops         uint64    // records held in the log (LastSeq - BaseSeq)
	LastSeq     uint64    // newest record
	Bytes       int64     // stored bytes of records and snapshots
	LastEdit    time.Time // Time of the newest record; zero if none
	SnapshotSeq uint64    // newest snapshot; 0 if none
	BaseSeq     uint64    // records up to here were folded away by Compact; 0 if never
}

// Store is a document store backed by a bbolt file (Open) or by memory (NewMemoryStore).
// All methods may be called concurrently.
type Store struct {
	kv   kv
	opts Options
	log  *slog.Logger
	// build turns a snapshot and the records after it into one state update. It is
	// buildState (crdt) in production; tests may replace it.
	build func(base []byte, tail []Record) ([]byte, error)

	mu         sync.RWMutex // held for reading while sending on queue; closed flips under the write lock
	closed     bool
	queue      chan *appendReq // nil when read-only
	writerDone chan struct{}

	snapReq     chan string
	snapMu      sync.Mutex
	snapPending map[string]bool   // docs queued or being snapshotted
	snapFailed  map[string]uint64 // lastSeq at which a snapshot of the doc failed
	snapCancel  context.CancelFunc
	snapDone    chan struct{}
}

// MemoryStore is a Store that keeps everything in memory, for tests. It has the same
// methods and behaviour as a file-backed Store, without durability.
type MemoryStore struct {
	*Store
}

// Open opens (creating if needed, unless opts.ReadOnly) the bbolt file at path. A file
// held by a running server yields an error matching ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	opts.fill()
	kv, err := openBolt(path, opts.ReadOnly, opts.NoSync, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	s := newStore(kv, opts)
	s.log.Info("persistence: opened", "path", path, "readOnly", opts.ReadOnly)
	return s, nil
}

// NewMemoryStore returns an empty in-memory store with default options.
func NewMemoryStore() *MemoryStore {
	return NewMemoryStoreWith(Options{})
}

// NewMemoryStoreWith returns an empty in-memory store; opts.ReadOnly, NoSync and
// LockTimeout are ignored.
func NewMemoryStoreWith(opts Options) *MemoryStore {
	opts.ReadOnly = false
	opts.fill()
	return &MemoryStore{Store: newStore(newMemKV(), opts)}
}

func newStore(kv kv, opts Options) *Store {
	s := &Store{
		kv:          kv,
		opts:        opts,
		log:         opts.Logger,
		build:       opts.build,
		snapPending: map[string]bool{},
		snapFailed:  map[string]uint64{},
	}
	if opts.ReadOnly {
		return s
	}
	s.queue = make(chan *appendReq, opts.QueueSize)
	s.writerDone = make(chan struct{})
	// The writer is stopped by Close (closing queue), which waits on writerDone.
	go s.writer()
	if opts.SnapshotEvery > 0 && s.build != nil {
		var ctx context.Context
		ctx, s.snapCancel = context.WithCancel(context.Background())
		s.snapReq = make(chan string, 256)
		s.snapDone = make(chan struct{})
		// The snapshotter is stopped by Close (snapCancel), which waits on snapDone.
		go s.snapshotter(ctx)
	}
	return s
}

// Close stops accepting appends, commits and acknowledges everything queued, stops
// background snapshots and closes the file. Later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.snapCancel != nil {
		s.snapCancel() // a snapshot in progress is abandoned before it is stored
	}
	if s.queue != nil {
		close(s.queue)
		<-s.writerDone
	}
	if s.snapCancel != nil {
		<-s.snapDone
	}
	return s.kv.close()
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// checkDocName reports whether name can name a stored document.
func checkDocName(name string) error {
	if name == "" || len(name) > MaxDocNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: document name must be 1..%d bytes of UTF-8", ErrInvalid, MaxDocNameLen)
	}
	return nil
}

// Load returns the newest snapshot of doc and the records after it, every checksum
// verified. A document never written yields &Loaded{} and a nil error. Corruption yields a
// *CorruptError and no partial result.
func (s *Store) Load(ctx context.Context, doc string) (*Loaded, error) {
	return s.LoadAt(ctx, doc, 0)
}

// LoadAt is Load as of record toSeq (0: the newest): the newest snapshot at or before
// toSeq and the records after it up to toSeq. A toSeq beyond the log is read as the
// newest; one that Compact folded away yields ErrCompacted.
func (s *Store) LoadAt(ctx context.Context, doc string, toSeq uint64) (*Loaded, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	return s.loadAt(ctx, doc, toSeq)
}

// loadAt is LoadAt for the store's own goroutines, which run until Close has waited for them.
func (s *Store) loadAt(ctx context.Context, doc string, toSeq uint64) (*Loaded, error) {
	l := &Loaded{}
	err := s.kv.view(func(tx kvTx) error {
		d, err := tx.doc(doc, false)
		if err != nil || d == nil {
			return err
		}
		m, err := readMeta(doc, d)
		if err != nil {
			return err
		}
		to := m.lastSeq
		if toSeq != 0 && toSeq < to {
			to = toSeq
		}
		if to < m.baseSeq {
			return fmt.Errorf("%w: %q before seq %d", ErrCompacted, doc, m.baseSeq)
		}
		from := m.baseSeq
		if seq, v, ok := d.snaps().floor(to); ok && seq >= m.baseSeq && seq > 0 {
			snap, err := decodeSnapshot(v)
			if err != nil {
				return &CorruptError{Doc: doc, Seq: seq, Err: fmt.Errorf("snapshot: %w", err)}
			}
			if snap.Seq != seq {
				return &CorruptError{Doc: doc, Seq: seq, Err: fmt.Errorf("snapshot: %w", errSeq)}
			}
			l.Snapshot, l.SnapshotSeq, from = snap.State, seq, seq
		} else if m.baseSeq > 0 {
			return &CorruptError{Doc: doc, Seq: m.baseSeq, Err: errors.New("base snapshot missing")}
		}
		l.Tail, err = readRecords(ctx, doc, d, from+1, to)
		l.LastSeq = to
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// readRecords decodes the records from … to of d, which must all be present.
func readRecords(ctx context.Context, doc string, d kvDoc, from, to uint64) ([]Record, error) {
	if from > to {
		return nil, nil
	}
	recs := make([]Record, 0, min(to-from+1, 1<<16))
	next := from
	err := d.log().ascend(from, to, func(seq uint64, v []byte) (bool, error) {
		if seq != next {
			return false, &CorruptError{Doc: doc, Seq: next, Err: errGap}
		}
		if seq%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		rec, err := decodeRecord(v)
		if err != nil {
			return false, &CorruptError{Doc: doc, Seq: seq, Err: err}
		}
		if rec.Seq != seq {
			return false, &CorruptError{Doc: doc, Seq: seq, Err: errSeq}
		}
		recs = append(recs, rec)
		next++
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if next != to+1 {
		return nil, &CorruptError{Doc: doc, Seq: next, Err: errGap}
	}
	return recs, nil
}

// History returns the records fromSeq … toSeq of doc (fromSeq 0: the oldest kept;
// toSeq 0 or beyond the end: the newest), checksums verified. A missing document yields
// ErrNotFound; a fromSeq folded away by Compact yields ErrCompacted.
func (s *Store) History(ctx context.Context, doc string, fromSeq, toSeq uint64) ([]Record, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	var recs []Record
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
		if fromSeq == 0 {
			fromSeq = m.baseSeq + 1
		} else if fromSeq <= m.baseSeq {
			return fmt.Errorf("%w: %q before seq %d", ErrCompacted, doc, m.baseSeq+1)
		}
		if toSeq == 0 || toSeq > m.lastSeq {
			toSeq = m.lastSeq
		}
		recs, err = readRecords(ctx, doc, d, fromSeq, toSeq)
		return err
	})
	return recs, err
}

// Snapshots returns every stored snapshot of doc in order, checksums verified.
func (s *Store) Snapshots(ctx context.Context, doc string) ([]Snapshot, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	var snaps []Snapshot
	err := s.kv.view(func(tx kvTx) error {
		d, err := tx.doc(doc, false)
		if err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("%w: %q", ErrNotFound, doc)
		}
		return d.snaps().ascend(0, 0, func(seq uint64, v []byte) (bool, error) {
			snap, err := decodeSnapshot(v)
			if err == nil && snap.Seq != seq {
				err = errSeq
			}
			if err != nil {
				return false, &CorruptError{Doc: doc, Seq: seq, Err: fmt.Errorf("snapshot: %w", err)}
			}
			snaps = append(snaps, snap)
			return true, ctx.Err()
		})
	})
	return snaps, err
}

// Docs lists the stored documents in name order.
func (s *Store) Docs(ctx context.Context) ([]DocInfo, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	var infos []DocInfo
	err := s.kv.view(func(tx kvTx) error {
		return tx.forEachDoc(func(name string, d kvDoc) error {
			m, err := readMeta(name, d)
			if err != nil {
				return err
			}
			infos = append(infos, m.info(name))
			return ctx.Err()
		})
	})
	return infos, err
}

// Info returns the summary of one document, or ErrNotFound.
func (s *Store) Info(ctx context.Context, doc string) (DocInfo, error) {
	if s.isClosed() {
		return DocInfo{}, ErrClosed
	}
	var info DocInfo
	err := s.kv.view(func(tx kvTx) error {
		d, err := tx.doc(doc, false)
		if err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("%w: %q", ErrNotFound, doc)
		}
		m, err := readMeta(doc, d)
		info = m.info(doc)
		return err
	})
	return info, err
}

// SeqAt returns the newest record of doc whose Time is not after t; 0 if t is before
// the first record. Times are server times and normally ascend with seq; if they do not,
// the first record after t ends the search. If t falls before the kept history of a
// compacted document, the answer is unknown: ErrCompacted.
func (s *Store) SeqAt(ctx context.Context, doc string, t time.Time) (uint64, error) {
	info, err := s.Info(ctx, doc)
	if err != nil {
		return 0, err
	}
	recs, err := s.History(ctx, doc, 0, 0)
	if err != nil {
		return 0, err
	}
	seq := info.BaseSeq
	for _, r := range recs {
		if r.Time.After(t) {
			break
		}
		seq = r.Seq
	}
	if len(recs) == 0 && !info.LastEdit.IsZero() && !t.Before(info.LastEdit) {
		return info.LastSeq, nil // everything compacted, and t is after the last edit
	}
	if seq == info.BaseSeq && info.BaseSeq > 0 {
		return 0, fmt.Errorf("%w: %q before seq %d", ErrCompacted, doc, info.BaseSeq+1)
	}
	return seq, nil
}
