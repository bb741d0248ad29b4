package docsync

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/awareness"
	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// Actor tests with fake time (testing/synctest): the idle unload and the awareness timeout run
// on the actor's own timers, with peers that are in-memory sinks instead of sockets.

// lockedSink is a fakeSink safe to read from the test goroutine while the actor writes it.
type lockedSink struct {
	mu     sync.Mutex
	frames [][]byte
	closed CloseReason
}

func (s *lockedSink) enqueue(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, b)
	return true
}

func (s *lockedSink) close(r CloseReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == 0 {
		s.closed = r
	}
}

func (s *lockedSink) snapshot() ([][]byte, CloseReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.frames...), s.closed
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func joinSink(t *testing.T, s *Server, doc string) (*actor, *peer, *lockedSink) {
	t.Helper()
	sink := &lockedSink{}
	p := newPeer(sink, "", quiet())
	a, err := s.join(p, doc)
	require.NoError(t, err)
	return a, p, sink
}

func TestActor_UnloadsAfterIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := persistence.NewMemoryStore()
		defer mem.Close()
		s, err := New(Options{Store: mem, Logger: quiet(), IdleTimeout: 30 * time.Second})
		require.NoError(t, err)
		defer s.Close()

		a, p, _ := joinSink(t, s, "doc")
		u := newEditor(3).insert(t, 0, "kept")
		require.True(t, a.post(context.Background(), frameMsg{p: p, frame: encodeSyncUpdate(u)}))
		require.True(t, a.post(context.Background(), leaveMsg{p: p, reason: CloseGoingAway}))
		synctest.Wait()
		assert.Equal(t, []string{"doc"}, s.Loaded())

		time.Sleep(29 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"doc"}, s.Loaded(), "still within the grace period")

		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Empty(t, s.Loaded(), "unloaded after the grace period")
		select {
		case <-a.done:
		default:
			t.Fatal("actor goroutine still running")
		}

		// The next join loads the document again, update included.
		_, _, sink := joinSink(t, s, "doc")
		synctest.Wait()
		frames, _ := sink.snapshot()
		require.NotEmpty(t, frames)
		assert.Equal(t, encodeSyncStep1([]byte{1, 3, 4}), frames[0])
	})
}

func TestActor_RejoinCancelsUnload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Logger: quiet(), IdleTimeout: 10 * time.Second})
		require.NoError(t, err)
		defer s.Close()
		a, p, _ := joinSink(t, s, "doc")
		a.post(context.Background(), leaveMsg{p: p, reason: CloseGoingAway})
		time.Sleep(9 * time.Second)
		a2, _, _ := joinSink(t, s, "doc")
		assert.Same(t, a, a2, "the loaded actor is reused")
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, []string{"doc"}, s.Loaded(), "a peer keeps it loaded")
	})
}

func TestActor_AwarenessTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Logger: quiet(), AwarenessTimeout: 30 * time.Second})
		require.NoError(t, err)
		defer s.Close()
		a, pa, _ := joinSink(t, s, "doc")
		_, _, sb := joinSink(t, s, "doc")
		a.post(context.Background(), frameMsg{p: pa, frame: awarenessFrame(11, 1, `{"x":1}`)})
		synctest.Wait()
		removal := encodeAwareness(awareness.EncodeEntries([]awareness.Entry{{ClientID: 11, Clock: 1, JSON: []byte("null")}}))
		has := func() bool {
			frames, _ := sb.snapshot()
			for _, f := range frames {
				if string(f) == string(removal) {
					return true
				}
			}
			return false
		}
		time.Sleep(28 * time.Second)
		synctest.Wait()
		assert.False(t, has(), "not yet outdated")
		time.Sleep(6 * time.Second)
		synctest.Wait()
		assert.True(t, has(), "removed after 30 s without renewal (checked every 3 s)")
	})
}

func TestActor_ShutdownWaitsForAcksAndClosesPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := persistence.NewMemoryStore()
		defer mem.Close()
		s, err := New(Options{Store: mem, Logger: quiet()})
		require.NoError(t, err)
		a, pa, sa := joinSink(t, s, "doc")
		_, _, sb := joinSink(t, s, "doc")
		a.post(context.Background(), frameMsg{p: pa, frame: encodeSyncUpdate(newEditor(1).insert(t, 0, "x"))})
		require.NoError(t, s.Shutdown(context.Background()))
		_, ca := sa.snapshot()
		_, cb := sb.snapshot()
		assert.Equal(t, CloseGoingAway, ca)
		assert.Equal(t, CloseGoingAway, cb)
		d, seq, err := persistence.LoadDoc(context.Background(), mem, "doc", crdt.Options{})
		require.NoError(t, err)
		assert.Equal(t, uint64(1), seq)
		assert.Equal(t, "x", d.ToJSON()["t"])
		_, err = s.join(newPeer(&lockedSink{}, "", quiet()), "doc")
		assert.ErrorIs(t, err, ErrClosed)
		assert.ErrorIs(t, s.ApplyUpdate(context.Background(), "doc", nil), ErrClosed)
	})
}

// failingStore acknowledges every append with an error.
type failingStore struct{ Store }

func (f failingStore) Append(_ string, _ persistence.Record, ack func(uint64, error)) {
	ack(0, io.ErrShortWrite)
}

func TestActor_StorageFailureDropsDocument(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := persistence.NewMemoryStore()
		defer mem.Close()
		s, err := New(Options{Store: failingStore{mem}, Logger: quiet()})
		require.NoError(t, err)
		defer s.Close()
		a, pa, sa := joinSink(t, s, "doc")
		a.post(context.Background(), frameMsg{p: pa, frame: encodeSyncUpdate(newEditor(1).insert(t, 0, "x"))})
		synctest.Wait()
		_, code := sa.snapshot()
		assert.Equal(t, CloseInternal, code)
		assert.Empty(t, s.Loaded(), "the document is dropped from memory")
		err = s.ApplyUpdate(context.Background(), "doc", newEditor(2).insert(t, 0, "y"))
		assert.ErrorIs(t, err, errStorage)
	})
}
