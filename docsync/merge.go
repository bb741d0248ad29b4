package docsync

import (
	"sync"

	"github.com/tandemsync/tandem/crdt"
)

// coalesceAfter is how many frames must be waiting before the writer merges queued updates: a
// peer that keeps up gets the shared broadcast bytes as they are, one that lags gets fewer,
// merged frames.
const coalesceAfter = 8

// maxMergeRun is the most update frames merged into one: crdt.MergeUpdates costs more per
// update as the run grows (about 1.4 µs per update at 100, 8 µs at 1,000, 50 µs at 16,000), so
// a long backlog is merged in runs of at most this size.
const maxMergeRun = 128

// mergeCut makes a frame end a merge run when its fingerprint is 0 modulo mergeCut (see
// coalesce): runs then end at the same frames for every peer, whatever its backlog.
const mergeCut = 32

// Bounds of the merge memo: how many merged runs it keeps, and their bytes (merged frames plus
// the frames they were made of).
const (
	maxMemoEntries = 1024
	maxMemoBytes   = 16 << 20
)

// mergeMemo remembers recent merges of runs of broadcast frames, so that when several peers of
// a document lag behind the same updates, the run is merged once and the result shared. A run
// is recognised by the identity of its frames (the actor encodes each broadcast once and gives
// every peer the same slice), never by content. A nil *mergeMemo merges without remembering.
// Safe for concurrent use by the writers.
type mergeMemo struct {
	mu      sync.Mutex
	entries map[memoKey]*memoEntry
	order   []memoKey // insertion order, oldest first, for eviction
	bytes   int
}

type memoKey struct {
	first, last *byte
	n           int
}

type memoEntry struct {
	frames [][]byte // the run; compared frame by frame on a hit
	merged []byte
	bytes  int
}

func newMergeMemo() *mergeMemo {
	return &mergeMemo{entries: map[memoKey]*memoEntry{}}
}

// coalesce merges each run of two or more consecutive sync update frames in batch into one
// (crdt.MergeUpdates), so a peer that fell behind catches up with fewer frames. Runs are at
// most maxMergeRun frames and also end after a frame whose fingerprint hits mergeCut, so two
// peers whose backlogs overlap cut the shared part into the same runs, which m then merges
// once. Frames are never modified; a run that does not merge is left as is.
func (m *mergeMemo) coalesce(batch [][]byte) [][]byte {
	if len(batch) < 2 {
		return batch
	}
	out := batch[:0:0]
	for i := 0; i < len(batch); {
		j := i
		for j < len(batch) && j-i < maxMergeRun && isUpdateFrame(batch[j]) {
			j++
			if fingerprint(batch[j-1])%mergeCut == 0 {
				break
			}
		}
		if j-i >= 2 {
			if merged, ok := m.merge(batch[i:j]); ok {
				out = append(out, merged)
				i = j
				continue
			}
		}
		if j == i {
			j = i + 1
		}
		out = append(out, batch[i:j]...)
		i = j
	}
	return out
}

// coalesce is coalesce without a memo.
func coalesce(batch [][]byte) [][]byte {
	var m *mergeMemo
	return m.coalesce(batch)
}

// fingerprint hashes a frame's length and last bytes (FNV-1a); it only picks where runs end.
func fingerprint(f []byte) uint32 {
	h := uint32(2166136261)
	mix := func(b byte) { h = (h ^ uint32(b)) * 16777619 }
	for n := len(f); n > 0; n >>= 8 {
		mix(byte(n))
	}
	for _, b := range f[max(0, len(f)-16):] {
		mix(b)
	}
	return h
}

// merge returns the merge of the update frames in run, from the memo when the same frames
// were merged recently.
func (m *mergeMemo) merge(run [][]byte) ([]byte, bool) {
	if m == nil {
		return mergeFrames(run)
	}
	key := memoKey{first: &run[0][0], last: &run[len(run)-1][0], n: len(run)}
	m.mu.Lock()
	e := m.entries[key]
	m.mu.Unlock()
	if e != nil && sameFrames(e.frames, run) {
		return e.merged, true
	}
	merged, ok := mergeFrames(run)
	if !ok {
		return nil, false
	}
	e = &memoEntry{frames: append([][]byte(nil), run...), merged: merged, bytes: len(merged)}
	for _, f := range run {
		e.bytes += len(f)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, dup := m.entries[key]; dup {
		m.bytes -= old.bytes // another writer merged the same run meanwhile
	} else {
		m.order = append(m.order, key)
	}
	m.entries[key] = e
	m.bytes += e.bytes
	for len(m.order) > 0 && (len(m.entries) > maxMemoEntries || m.bytes > maxMemoBytes) {
		k := m.order[0]
		m.order[0] = memoKey{}
		m.order = m.order[1:]
		if old, ok := m.entries[k]; ok {
			m.bytes -= old.bytes
			delete(m.entries, k)
		}
	}
	if len(m.order) == 0 {
		m.order = nil // drop the consumed backing array
	}
	return merged, true
}

// sameFrames reports whether a and b hold the same frames (the same backing arrays).
func sameFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) || &a[i][0] != &b[i][0] {
			return false
		}
	}
	return true
}

func isUpdateFrame(f []byte) bool {
	return len(f) >= 2 && f[0] == messageSync && f[1] == messageYjsUpdate
}

func mergeFrames(frames [][]byte) ([]byte, bool) {
	updates := make([][]byte, 0, len(frames))
	for _, f := range frames {
		m, err := decodeMessage(f)
		if err != nil {
			return nil, false
		}
		updates = append(updates, m.payload)
	}
	merged, err := crdt.MergeUpdates(updates)
	if err != nil {
		return nil, false
	}
	return encodeSyncUpdate(merged), true
}
