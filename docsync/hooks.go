package docsync

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Hooks are application callbacks for server events. Every field may be nil.
//
// Hooks never run on a document actor. Events are put on one bounded queue (Options.
// HookQueueLen) without blocking; when it is full the event is dropped, counted in the metric
// tandem_hook_events_dropped_total and logged. One dispatcher goroutine takes events in order
// and runs each hook call on a goroutine of its own with a context that ends after
// Options.HookTimeout; when the call overruns, the dispatcher logs it, counts it
// (tandem_hook_timeouts_total) and moves on, leaving the call to finish by itself. A hook
// that panics is logged and counted too. So a slow or failing hook can delay and drop other
// hook events, but never documents, peers or storage. Hooks must respect ctx.
//
// Events of one document arrive in the order they happened as long as no call overruns.
// Shutdown delivers the events queued before it (within its ctx); Close drops them.
type Hooks struct {
	// OnConnect is called after a WebSocket peer joined its document.
	OnConnect func(ctx context.Context, ev ConnEvent)
	// OnDisconnect is called after a joined WebSocket peer left (ev.Code is the close code).
	OnDisconnect func(ctx context.Context, ev ConnEvent)
	// OnUpdate is called after an update is durable in the store and has been sent to the
	// document's peers.
	OnUpdate func(ctx context.Context, ev UpdateEvent)
	// OnLoad is called after a document was loaded into memory.
	OnLoad func(ctx context.Context, ev DocEvent)
	// OnUnload is called after a document left memory (idle, shutdown or failure).
	OnUnload func(ctx context.Context, ev DocEvent)
}

// ConnEvent describes a WebSocket peer of a document.
type ConnEvent struct {
	Doc       string
	Principal string
	Access    Access
	Conn      uuid.UUID
	Remote    string
	// Code is the close code (OnDisconnect only; 1006 when the peer vanished).
	Code int
}

// UpdateEvent is a durable update.
type UpdateEvent struct {
	Doc string
	// Principal is who sent it ("" for anonymous peers and server-side edits without
	// WithPrincipal).
	Principal string
	// Conn is the sending connection, uuid.Nil for server-side edits.
	Conn uuid.UUID
	// Seq is the update's sequence number in the document's log.
	Seq  uint64
	Time time.Time
	// Update is the v1 update. It is shared: do not modify it.
	Update []byte
}

// DocEvent describes a document entering or leaving memory.
type DocEvent struct {
	Doc string
	// Seq is the last sequence number in the document's log at that moment.
	Seq uint64
}

// hookQueue is the bounded event queue and its dispatcher goroutine.
type hookQueue struct {
	s  *Server
	ch chan func(ctx context.Context)

	mu     sync.Mutex // guards closed and the send on ch against close
	closed bool
	done   chan struct{}
}

// newHookQueue starts the dispatcher when at least one hook is set; otherwise emit is a no-op.
// The dispatcher runs until stop; Shutdown and Close wait for it.
func newHookQueue(s *Server) *hookQueue {
	q := &hookQueue{s: s, done: make(chan struct{})}
	h := s.opts.Hooks
	if h.OnConnect == nil && h.OnDisconnect == nil && h.OnUpdate == nil && h.OnLoad == nil && h.OnUnload == nil {
		close(q.done)
		return q
	}
	q.ch = make(chan func(ctx context.Context), s.opts.HookQueueLen)
	// The dispatcher ends when stop closes ch (after draining it) or s.ctx ends; stop waits.
	go q.dispatch()
	return q
}

// emit queues call without blocking; it drops (and counts) the event when the queue is full
// or stopped.
func (q *hookQueue) emit(name string, call func(ctx context.Context)) {
	if q.ch == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	select {
	case q.ch <- call:
	default:
		q.s.metrics.hookDropped.Inc()
		q.s.log.Warn("hook queue full, event dropped", "hook", name)
	}
}

// dispatch runs the queued calls one after the other, each bounded by Options.HookTimeout.
func (q *hookQueue) dispatch() {
	defer close(q.done)
	for call := range q.ch {
		if q.s.ctx.Err() != nil {
			continue // Close: drop what is left
		}
		q.run(call)
	}
}

// run makes one call on its own goroutine and waits for it at most HookTimeout.
func (q *hookQueue) run(call func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(q.s.ctx, q.s.opts.HookTimeout)
	defer cancel()
	finished := make(chan struct{})
	// The call ends by itself; nobody waits for it past the timeout (documented on Hooks).
	go func() {
		defer close(finished)
		defer func() {
			if r := recover(); r != nil {
				q.s.metrics.hookFailures.Inc()
				q.s.log.Warn("hook panicked", "err", r, "stack", string(debug.Stack()))
			}
		}()
		call(ctx)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		q.s.metrics.hookTimeouts.Inc()
		q.s.log.Warn("hook timed out", "dur", q.s.opts.HookTimeout)
	}
}

// stop closes the queue; the dispatcher delivers what is queued unless the server's ctx ends.
func (q *hookQueue) stop() {
	q.mu.Lock()
	if !q.closed && q.ch != nil {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
}

// Event helpers, called from connections and actors (never blocking).

func (s *Server) emitConnect(ev ConnEvent) {
	if f := s.opts.Hooks.OnConnect; f != nil {
		s.hooks.emit("OnConnect", func(ctx context.Context) { f(ctx, ev) })
	}
}

func (s *Server) emitDisconnect(ev ConnEvent) {
	if f := s.opts.Hooks.OnDisconnect; f != nil {
		s.hooks.emit("OnDisconnect", func(ctx context.Context) { f(ctx, ev) })
	}
}

func (s *Server) emitUpdate(ev UpdateEvent) {
	if f := s.opts.Hooks.OnUpdate; f != nil {
		s.hooks.emit("OnUpdate", func(ctx context.Context) { f(ctx, ev) })
	}
}

func (s *Server) emitLoad(ev DocEvent) {
	if f := s.opts.Hooks.OnLoad; f != nil {
		s.hooks.emit("OnLoad", func(ctx context.Context) { f(ctx, ev) })
	}
}

func (s *Server) emitUnload(ev DocEvent) {
	if f := s.opts.Hooks.OnUnload; f != nil {
		s.hooks.emit("OnUnload", func(ctx context.Context) { f(ctx, ev) })
	}
}
