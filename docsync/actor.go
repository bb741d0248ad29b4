package docsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tandemsync/tandem/crdt"
)

// awarenessCheckInterval is how often an actor expires awareness states, as y-protocols does.
const awarenessCheckInterval = 3 * time.Second

// errActorGone is returned by a request whose actor exited before answering; the caller looks
// the document up again (a new actor loads it).
var errActorGone = errors.New("docsync: document actor exited")

// Inbox messages. Requests carry a reply channel with a buffer of 1, so the actor never blocks
// answering them.
type (
	// joinMsg adds a peer; reply gets nil once the peer is registered.
	joinMsg struct {
		p     *peer
		reply chan error
	}
	// leaveMsg removes a peer (its connection ended, or its reader found hostile input).
	leaveMsg struct {
		p      *peer
		reason CloseReason
	}
	// frameMsg is one binary WebSocket message from a peer.
	frameMsg struct {
		p     *peer
		frame []byte
	}
	// applyMsg is a server-side update; reply gets nil once it is durable and broadcast.
	applyMsg struct {
		user   string
		update []byte
		reply  chan error
	}
	// editMsg is a server-side edit run in a crdt transaction; reply as for applyMsg.
	editMsg struct {
		user  string
		fn    func(tx *crdt.Transaction, d *crdt.Doc)
		reply chan error
	}
	// accessMsg changes the access of every peer of principal; n gets how many.
	accessMsg struct {
		principal string
		access    Access
		n         chan int
	}
	// peerAccessMsg changes one peer's access after re-authentication.
	peerAccessMsg struct {
		p      *peer
		access Access
		reason CloseReason
	}
	// readMsg runs fn on the actor's goroutine with the document; fn must not keep the Doc.
	readMsg struct {
		fn    func(d *crdt.Doc) error
		reply chan error
	}
)

// ackMsg is a store acknowledgement of the append with token.
type ackMsg struct {
	token, seq uint64
	err        error
}

// actor owns one open document. Its goroutine (run) loads the document, then serves the
// inbox, the store's acknowledgements and its timers until the document has been idle for
// Options.IdleTimeout, the server shuts down, or storage fails.
//
// The store's acknowledgements arrive on any goroutine and must never block, so they go to an
// unbounded list (acks, guarded by ackMu, empty and unallocated while nothing is in flight)
// with a 1-slot wake-up channel; Options.MaxInflight bounds how long it gets.
type actor struct {
	name  string
	srv   *Server
	log   *slog.Logger
	inbox chan any

	ackMu   sync.Mutex
	acks    []ackMsg
	ackWake chan struct{} // capacity 1: acks is (probably) non-empty

	// done is closed when run returns; senders select on it.
	done chan struct{}
}

func newActor(s *Server, name string) *actor {
	return &actor{
		name:    name,
		srv:     s,
		log:     s.log.With("doc", name),
		inbox:   make(chan any, s.opts.InboxLen),
		done:    make(chan struct{}),
		ackWake: make(chan struct{}, 1),
	}
}

// call sends a request and waits for its reply. It returns errActorGone if the actor exited
// first, in which case the request may or may not have been handled.
func (a *actor) call(ctx context.Context, m any, reply chan error) error {
	select {
	case a.inbox <- m:
	case <-a.done:
		return errActorGone
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-a.done:
		select {
		case err := <-reply:
			return err
		default:
			return errActorGone
		}
	}
}

// post sends a message that needs no reply. It gives up when the actor exits or ctx ends.
func (a *actor) post(ctx context.Context, m any) bool {
	select {
	case a.inbox <- m:
		return true
	case <-a.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// load builds the document from the store. It also returns the bytes it read (snapshot and
// tail), the first estimate of the document's size.
func (a *actor) load(ctx context.Context) (*crdt.Doc, uint64, int64, error) {
	l, err := a.srv.store.Load(ctx, a.name)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("load: %w", err)
	}
	doc := crdt.NewDoc(crdt.Options{})
	size := int64(len(l.Snapshot))
	if l.Snapshot != nil {
		if err := doc.ApplyUpdate(l.Snapshot); err != nil {
			return nil, 0, 0, fmt.Errorf("load: snapshot at seq %d: %w", l.SnapshotSeq, err)
		}
	}
	for _, rec := range l.Tail {
		if err := doc.ApplyUpdate(rec.Update); err != nil {
			return nil, 0, 0, fmt.Errorf("load: record %d: %w", rec.Seq, err)
		}
		size += int64(len(rec.Update))
	}
	return doc, l.LastSeq, size, nil
}

// run is the actor's first goroutine. Server.actorFor starts it; it loads the document and
// hands the rest of the actor's life to serve, on a goroutine of its own (see serve). The actor
// stops by itself (idle unload, storage failure, load failure), on Server.Shutdown (stopping) or
// when ctx ends (Close). The server waits for it through its actors WaitGroup.
func (a *actor) run(ctx context.Context) {
	start := time.Now()
	doc, lastSeq, size, err := a.load(ctx)
	if err != nil {
		a.log.Error("document failed to load", "err", err)
		a.srv.unregister(a, true)
		a.refuseQueued(fmt.Errorf("%w: %w", ErrUnavailable, err))
		close(a.done)
		a.srv.actors.Done()
		return
	}
	c := newCore(a.name, doc, lastSeq, &a.srv.opts, a.log)
	c.m = a.srv.metrics
	c.docBytes = size
	a.log.Info("document loaded", "seq", lastSeq, "bytes", size, "dur", time.Since(start))
	a.srv.metrics.loads.Inc()
	a.srv.emitLoad(DocEvent{Doc: a.name, Seq: lastSeq})
	l := &loop{a: a, c: c, ctx: ctx, stopping: a.srv.stopping}
	l.awTicker = time.NewTicker(awarenessCheckInterval)
	l.idle = time.NewTimer(a.srv.opts.IdleTimeout)
	l.idleRunning = true
	// Loading can take a deep stack (integrating a long log), which a goroutine keeps for
	// good; serve starts afresh. Its loop keeps little on the stack while it waits, so the
	// runtime can shrink what handling messages grows (an open document's goroutine is
	// mostly parked).
	go l.serve()
}

// loop is the state of an actor's serving goroutine.
type loop struct {
	a           *actor
	c           *core
	ctx         context.Context
	awTicker    *time.Ticker
	idle        *time.Timer
	idleRunning bool
	stopping    <-chan struct{}
	draining    bool // Shutdown: peers closed, waiting for acknowledgements
}

// serve is the actor's goroutine once the document is loaded: it serves the inbox, the store's
// acknowledgements and the timers until the document has been idle for Options.IdleTimeout,
// the server shuts down, or storage fails. Everything but the wait is in the (not inlined) step
// methods, so that the frame parked in select stays small.
func (l *loop) serve() {
	a := l.a
	defer a.srv.actors.Done()
	defer close(a.done)
	defer l.exit()
	for {
		inbox := a.inbox
		if len(l.c.inflight) >= a.srv.opts.MaxInflight {
			inbox = nil // pause until acknowledgements return
		}
		var done bool
		select {
		case m := <-inbox:
			l.onMessage(m)
		case <-a.ackWake:
			l.onAcks()
		case now := <-l.awTicker.C:
			l.onTick(now)
		case <-l.idle.C:
			done = l.onIdle()
		case <-l.stopping:
			l.onStopping()
		case <-l.ctx.Done():
			l.onCancel()
			return
		}
		if done || l.after() {
			return
		}
	}
}

//go:noinline
func (l *loop) exit() {
	l.awTicker.Stop()
	l.idle.Stop()
	l.a.srv.metrics.unloads.Inc()
	l.a.srv.emitUnload(DocEvent{Doc: l.a.name, Seq: l.c.lastSeq})
}

//go:noinline
func (l *loop) onMessage(m any) { l.a.handle(l.c, m, l.draining) }

//go:noinline
func (l *loop) onAcks() {
	a, c := l.a, l.c
	for _, ack := range a.takeAcks() {
		a.safely(c, func() { c.acked(ack.token, ack.seq, ack.err) })
	}
}

//go:noinline
func (l *loop) onTick(now time.Time) { l.a.safely(l.c, func() { l.c.tick(now) }) }

// onIdle reports whether the actor unloaded the document and must exit.
//
//go:noinline
func (l *loop) onIdle() bool {
	a, c := l.a, l.c
	l.idleRunning = false
	if c.idle() && a.srv.unregister(a, false) {
		a.refuseQueued(errActorGone)
		a.log.Info("document unloaded", "seq", c.lastSeq)
		return true
	}
	return false
}

//go:noinline
func (l *loop) onStopping() {
	l.stopping = nil
	l.draining = true
	l.a.safely(l.c, func() { l.c.closeAll(CloseGoingAway) })
}

//go:noinline
func (l *loop) onCancel() {
	a, c := l.a, l.c
	a.safely(c, func() { c.closeAll(CloseGoingAway) })
	a.execute(c)
	a.srv.unregister(a, true)
	a.refuseQueued(ErrClosed)
}

// after carries out the effects of a step and re-arms the idle timer; it reports whether the
// actor must exit (storage failed, or Shutdown's acknowledgements are all in).
//
//go:noinline
func (l *loop) after() bool {
	a, c := l.a, l.c
	a.execute(c)
	if c.failed != nil || (l.draining && len(c.inflight) == 0) {
		a.srv.unregister(a, true)
		if l.draining {
			a.refuseQueued(ErrClosed)
			a.log.Info("document closed", "seq", c.lastSeq)
		} else {
			a.refuseQueued(errActorGone)
		}
		return true
	}
	switch {
	case c.idle() && !l.idleRunning:
		l.idle.Reset(a.srv.opts.IdleTimeout)
		l.idleRunning = true
	case !c.idle() && l.idleRunning:
		l.idle.Stop()
		l.idleRunning = false
	}
	return false
}

// handle passes one inbox message to the core.
func (a *actor) handle(c *core, m any, draining bool) {
	switch m := m.(type) {
	case joinMsg:
		if draining {
			m.reply <- ErrClosed
			return
		}
		a.safely(c, func() { c.join(m.p, time.Now()) })
		m.reply <- nil
	case leaveMsg:
		a.safely(c, func() { c.leave(m.p, m.reason, time.Now()) })
	case frameMsg:
		a.safely(c, func() { c.receive(m.p, m.frame, time.Now()) })
	case applyMsg:
		if draining {
			m.reply <- ErrClosed
			return
		}
		a.safely(c, func() { c.applyLocalAs(m.user, m.update, m.reply, time.Now()) })
	case editMsg:
		if draining {
			m.reply <- ErrClosed
			return
		}
		a.safely(c, func() { c.editLocal(m.user, m.fn, m.reply, time.Now()) })
		if c.failed != nil {
			// fn panicked (or broke an invariant): the document is failing; the reply
			// channel has room unless editLocal answered already.
			select {
			case m.reply <- c.failed:
			default:
			}
		}
	case accessMsg:
		n := 0
		a.safely(c, func() { n = c.setAccess(m.principal, m.access, time.Now()) })
		m.n <- n
	case peerAccessMsg:
		a.safely(c, func() {
			c.now = time.Now()
			c.setPeerAccess(m.p, m.access, m.reason)
		})
	case readMsg:
		m.reply <- a.read(c, m.fn)
	default:
		panic(fmt.Sprintf("docsync: unknown inbox message %T", m))
	}
}

// read runs a caller's read-only function on the Doc. A panic in it is the caller's bug, not
// the document's: it is returned as an error and the document stays open.
func (a *actor) read(c *core, fn func(d *crdt.Doc) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("panic in Read function", "err", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("docsync: panic in Read function: %v", r)
		}
	}()
	return fn(c.doc)
}

// safely runs fn, turning a panic (a broken invariant in the core or the crdt package) into a
// document failure: the stack is logged, every peer is closed with 1011 and the actor exits,
// so the next join reloads the document from the store.
func (a *actor) safely(c *core, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("panic in document actor", "err", r, "stack", string(debug.Stack()))
			if c.failed == nil {
				c.failed = fmt.Errorf("docsync: panic: %v", r)
			}
			for _, in := range c.inflight {
				if in.reply != nil {
					select {
					case in.reply <- c.failed:
					default:
					}
				}
			}
			c.inflight = nil
			c.closeAll(CloseInternal)
		}
	}()
	fn()
}

// execute carries out the core's effects in order. A peer whose queue is full is closed with
// 1013 (its awareness removal then produces more effects, handled in the same loop).
func (a *actor) execute(c *core) {
	for {
		fx := c.takeEffects()
		if len(fx) == 0 {
			return
		}
		for _, e := range fx {
			switch e.kind {
			case effSend:
				if e.peer.gone {
					continue
				}
				if !e.peer.out.enqueue(e.frame) {
					a.srv.metrics.slowPeerCloses.Inc()
					e.peer.log.Warn("peer too slow, closing", "code", CloseTryAgain.Code())
					a.safely(c, func() { c.leave(e.peer, CloseTryAgain, time.Now()) })
				}
			case effClose:
				e.peer.out.close(e.reason)
			case effAppend:
				token := e.in.token
				m := a.srv.metrics
				m.updatesIn.Inc()
				start := time.Now()
				a.srv.store.Append(a.name, e.in.rec, func(seq uint64, err error) {
					if err == nil {
						m.appendLatency.Observe(time.Since(start).Seconds())
					}
					a.ack(ackMsg{token: token, seq: seq, err: err})
				})
			case effDurable:
				a.srv.metrics.updatesDurable.Inc()
				rec := &e.in.rec
				a.srv.emitUpdate(UpdateEvent{Doc: a.name, Principal: rec.User, Conn: rec.ConnID,
					Seq: e.in.seq, Time: rec.Time, Update: rec.Update})
			}
		}
	}
}

// ack records a store acknowledgement and wakes the run loop; it never blocks.
func (a *actor) ack(m ackMsg) {
	a.ackMu.Lock()
	a.acks = append(a.acks, m)
	a.ackMu.Unlock()
	select {
	case a.ackWake <- struct{}{}:
	default: // already woken
	}
}

// takeAcks returns the acknowledgements received so far, in arrival order, and empties the list.
func (a *actor) takeAcks() []ackMsg {
	a.ackMu.Lock()
	defer a.ackMu.Unlock()
	acks := a.acks
	a.acks = nil
	return acks
}

// refuseQueued answers every message left in the inbox after the actor stopped serving it.
// Joins and requests get err (errActorGone makes the caller retry with a new actor).
func (a *actor) refuseQueued(err error) {
	for {
		select {
		case m := <-a.inbox:
			switch m := m.(type) {
			case joinMsg:
				m.reply <- err
			case applyMsg:
				m.reply <- err
			case editMsg:
				m.reply <- err
			case accessMsg:
				m.n <- 0
			case readMsg:
				m.reply <- err
			case leaveMsg, frameMsg, peerAccessMsg:
				// The peer's connection notices done and closes itself.
			}
		default:
			return
		}
	}
}
