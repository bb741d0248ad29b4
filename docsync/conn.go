package docsync

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// maxCloseGrace caps how long the writer waits for the peer's answer to our close frame before
// it drops the TCP connection (closing early can lose the frame: a reset, or a peer that has not
// read it yet). The wait is Options.WriteTimeout up to this cap.
const maxCloseGrace = 5 * time.Second

// maxSpareQueue is the largest queue backing array the writer keeps for reuse.
const maxSpareQueue = 64

// errTooLarge reports a message above Options.MaxMessageBytes.
var errTooLarge = errors.New("docsync: message too large")

// conn is one WebSocket connection: a reader (readPump, on the connection's goroutine) and a
// writer (writeRun), after gorilla/websocket's chat example. It is the actor's sink for the
// peer: the actor hands it frames with enqueue and asks it to end with close.
//
// The writer goroutine runs only while there is something to send: enqueue and close start
// it, and it exits once its queue is empty (a busy peer's writer some tens of milliseconds
// later: linger). The reader does not wait in gorilla either (readLoop), so an idle
// connection costs at most one small goroutine, none on Linux. Pings, keep-alives and the
// write watchdog come from one runtime timer (time.AfterFunc), not a goroutine.
//
// Only the writer writes data messages to ws (other goroutines may call only Close and control
// writes: pings, the close frame); only readPump reads.
type conn struct {
	s   *Server
	ws  *websocket.Conn
	log *peerLog // the peer's

	// br is the buffered reader ws reads from (see smallReader); waiter, when not nil, tells
	// when the socket has input without reading it. Both are for readLoop.
	br     *bufio.Reader
	waiter *inputWaiter
	rd     readState // the reader's
	// parked: no goroutine reads; the server's idlePoller resumes the reader on input
	// (resume), as does closeSocket. pollID is the poller's (guarded by its mutex).
	parked atomic.Bool
	pollID uint64
	// readDeadline is the read deadline last set (Unix nanoseconds): onTimer resumes a
	// parked reader when it passes, so that the reader sees the timeout.
	readDeadline atomic.Int64

	// qmu guards the send queue and the writer's state. The queue holds the frames the actor
	// handed over, in order, that the writer has not taken yet. It grows on demand (an idle
	// connection holds none) and is bounded by Options.SendQueueBytes and SendQueueLen.
	qmu     sync.Mutex
	queue   [][]byte
	queued  int64 // bytes in queue
	writing bool  // a writer goroutine is running (or lingering)
	// lingering: the writer waits in linger for frames; wake (capacity 1, made when it first
	// lingers) wakes it.
	lingering bool
	wake      chan struct{}
	// quick counts the batches in a row that came within lingerTick of the one before;
	// the writer lingers only for a peer that gets frames that often (lingerAfter batches).
	quick int
	ended bool // the writer has sent the close frame or failed; no writer starts again

	// timer pings every PingInterval, queues a keep-alive after KeepAliveInterval without a
	// write, and ends a write that has made no progress for WriteTimeout (onTimer); nil until
	// start. timerAt (when it fires), nextPing and lastWrite are guarded by qmu.
	timer     *time.Timer
	timerAt   time.Time
	nextPing  time.Time
	lastWrite time.Time
	// progress is when the writer last took a batch or finished a frame (Unix nanoseconds).
	progress atomic.Int64

	closeOnce sync.Once
	reason    CloseReason // written once, before quit fires
	// byPeer and peerCode (set by readPump) tell whether the peer ended the connection, and
	// with which close code (1006: without a close frame).
	byPeer     bool
	peerCode   int
	quit       event // close was called
	readerDone event // the reader has ended
	writerDone event // the writer has ended for good
}

func newConn(s *Server, ws *websocket.Conn, log *peerLog) *conn {
	return &conn{s: s, ws: ws, log: log}
}

// start arms the timer. Frames may be queued before it.
func (c *conn) start() {
	opts := &c.s.opts
	c.qmu.Lock()
	defer c.qmu.Unlock()
	now := time.Now()
	c.nextPing = now.Add(opts.PingInterval)
	c.lastWrite = now
	d := c.nextTimerLocked(now)
	c.timerAt = now.Add(d)
	c.timer = time.AfterFunc(d, c.onTimer)
}

// nextTimerLocked returns how long after now the timer must fire: at the next ping, when the
// connection will have gone KeepAliveInterval without a write, or, while the writer runs, when
// it will have gone WriteTimeout without progress. c.qmu is held.
func (c *conn) nextTimerLocked(now time.Time) time.Duration {
	opts := &c.s.opts
	next := c.nextPing
	if keep := opts.KeepAliveInterval; keep > 0 && c.lastWrite.Add(keep).Before(next) {
		next = c.lastWrite.Add(keep)
	}
	if c.writing && !c.lingering {
		if stuck := time.Unix(0, c.progress.Load()).Add(opts.WriteTimeout); stuck.Before(next) {
			next = stuck
		}
	}
	if rd := time.Unix(0, c.readDeadline.Load()); rd.After(now) && rd.Before(next) {
		next = rd
	}
	return max(next.Sub(now), time.Millisecond)
}

// rearmLocked re-arms the timer for nextTimerLocked. c.qmu is held.
func (c *conn) rearmLocked(now time.Time) {
	d := c.nextTimerLocked(now)
	c.timerAt = now.Add(d)
	c.timer.Reset(d)
}

// onTimer is the write watchdog, pinger and keep-alive. Writes carry no socket deadline (a
// deadline set per write costs a runtime timer update per frame, a sixth of the server's CPU
// when it fans out to many peers); instead a write that has made no progress for WriteTimeout
// is ended here by closing the socket. Otherwise it pings the peer when a ping is due (a
// control write, allowed beside the writer), queues a keep-alive (an empty awareness update)
// when nothing was written for KeepAliveInterval, and re-arms the timer.
func (c *conn) onTimer() {
	opts := &c.s.opts
	now := time.Now()
	if c.parked.Load() && now.UnixNano() >= c.readDeadline.Load() {
		c.kick() // the reader finds the deadline passed and ends the connection
	}
	c.qmu.Lock()
	if c.writing && !c.lingering && now.Sub(time.Unix(0, c.progress.Load())) >= opts.WriteTimeout {
		c.qmu.Unlock()
		c.log.Info("write timed out, closing", "timeout", opts.WriteTimeout)
		c.closeSocket() // the write fails, the writer and the reader end
		return
	}
	if c.closing() {
		if c.writing { // the watchdog still guards the writer's last frames
			c.rearmLocked(now)
		}
		c.qmu.Unlock()
		return
	}
	ping := !now.Before(c.nextPing)
	if ping {
		c.nextPing = now.Add(opts.PingInterval)
	}
	keep := opts.KeepAliveInterval > 0 && now.Sub(c.lastWrite) >= opts.KeepAliveInterval
	if keep {
		c.lastWrite = now // the keep-alive is on its way
	}
	c.rearmLocked(now)
	c.qmu.Unlock()
	if ping {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, now.Add(opts.WriteTimeout)); err != nil {
			c.log.Debug("ping failed", "err", err)
			c.closeSocket() // the reader fails and ends the connection
			return
		}
	}
	if keep {
		c.enqueue(keepAliveFrame)
	}
}

// enqueue implements sink: it never blocks and returns false when the queue is full: its
// bytes would pass Options.SendQueueBytes, or it holds Options.SendQueueLen frames. It starts
// the writer if none runs.
func (c *conn) enqueue(frame []byte) bool {
	n := int64(len(frame))
	c.qmu.Lock()
	if c.ended {
		c.qmu.Unlock()
		return true // the connection is closing: nothing more is sent
	}
	// A frame larger than the byte budget still goes out when the queue is empty (a step 2
	// can be as large as the document).
	if len(c.queue) > 0 && (c.queued+n > c.s.opts.SendQueueBytes || len(c.queue) >= c.s.opts.SendQueueLen) {
		c.qmu.Unlock()
		return false
	}
	c.queue = append(c.queue, frame)
	c.queued += n
	c.startWriterLocked()
	c.qmu.Unlock()
	return true
}

// startWriterLocked starts the writer goroutine, or wakes a lingering one, unless the writer
// has ended.
// c.qmu is held.
func (c *conn) startWriterLocked() {
	switch {
	case c.ended:
	case !c.writing:
		c.writing = true
		c.progress.Store(time.Now().UnixNano()) // the watchdog counts from here
		go c.writeRun()
	case c.lingering:
		c.lingering = false
		c.progress.Store(time.Now().UnixNano())
		c.wake <- struct{}{} // never blocks: lingering is set only with wake empty
	}
}

// take returns every queued frame and empties the queue, which reuses spare (a slice the
// writer is done with) when it is small. When the queue is empty and no close was requested,
// take returns ok false (see linger).
func (c *conn) take(spare [][]byte) (q [][]byte, ok bool) {
	if cap(spare) > maxSpareQueue {
		spare = nil // let a burst's backing array go
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) == 0 && !c.closing() {
		return nil, false
	}
	q = c.queue
	c.queue = spare[:0]
	c.queued = 0
	now := time.Now()
	if now.Sub(c.lastWrite) < lingerTick {
		c.quick++
	} else {
		c.quick = 0
	}
	c.lastWrite = now // about to be written
	c.progress.Store(now.UnixNano())
	// The watchdog must look at this batch within about WriteTimeout: re-arm the timer if it
	// is set much later (rarely: a busy connection's timer is never far off).
	if wt := c.s.opts.WriteTimeout; c.timer != nil && c.timerAt.After(now.Add(wt+wt/2)) {
		c.timerAt = now.Add(wt)
		c.timer.Reset(wt)
	}
	return q, true
}

// close implements sink: the writer sends reason's close frame and ends the connection. Only
// the first call counts.
func (c *conn) close(reason CloseReason) {
	if c.closeFirst(reason) {
		c.s.metrics.closed(reason)
	}
}

// closeFirst is close; it reports whether this call was the one that took effect.
func (c *conn) closeFirst(reason CloseReason) bool {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.reason = reason
		c.quit.fire()
		c.qmu.Lock()
		c.startWriterLocked() // the writer sends the close frame
		c.qmu.Unlock()
	})
	return first
}

// serveSync handles a WebSocket request for the document name.
func (s *Server) serveSync(w http.ResponseWriter, r *http.Request, name string) {
	if !ValidName(name) {
		http.Error(w, "invalid document name: use 1-128 bytes of A-Z a-z 0-9 . _ ~ -", http.StatusBadRequest)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "expected a WebSocket upgrade (y-websocket protocol)", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.conns.Add(1)
	s.mu.Unlock()
	handedOff := false // the connection's goroutine took over conns and the connection count
	defer func() {
		if !handedOff {
			s.conns.Done()
		}
	}()

	var grant Grant
	var authErr error
	refused := ""
	if !s.originAllowed(r) {
		authErr, refused = errOrigin, "origin"
	} else if grant, authErr = s.authenticate(r.Context(), r, name); authErr != nil {
		refused = refusalReason(authErr).String()
	}
	counted := authErr == nil && s.acquireConn(name)
	if counted {
		defer func() {
			if !handedOff {
				s.releaseConn(name)
			}
		}()
	} else if authErr == nil {
		refused = "too_many"
	}
	var hdr http.Header
	if protos := websocket.Subprotocols(r); len(protos) > 0 {
		// Browsers fail the handshake unless one requested subprotocol is selected.
		hdr = http.Header{"Sec-Websocket-Protocol": {protos[0]}}
	}
	sr := &smallReader{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(sr, r, hdr)
	if err != nil {
		s.log.Debug("websocket upgrade failed", "doc", name, "err", err)
		return // Upgrade has answered with an HTTP error
	}
	// Set up here, then serve the connection on a goroutine of its own and return, so that
	// net/http's per-connection buffers and this goroutine's deep stack are released while
	// the WebSocket stays open; the reader starts on a fresh, small stack. Shutdown waits for
	// it through s.conns.
	serve := s.startSync(ws, sr, r, name, grant, authErr, refused, counted)
	handedOff = true
	go serve(func() {
		if counted {
			s.releaseConn(name)
		}
		s.conns.Done()
	})
}

// startSync sets up an upgraded WebSocket for the document name: a refusal (authErr, refused,
// !counted) is sent and its close requested, otherwise the peer joins the document's actor. It
// returns the rest, which the caller runs on the connection's goroutine: readPump until the
// connection ends, then the bookkeeping of its end, waiting for the writer (and the
// re-authenticator), then done.
func (s *Server) startSync(ws *websocket.Conn, sr *smallReader, r *http.Request, name string, grant Grant, authErr error, refused string, counted bool) (serve func(done func())) {
	// The peer is created first so that the connection logs with its id; p.out is set below,
	// before the peer is shared with the actor.
	p := newPeer(nil, grant.Principal, s.log)
	p.log.doc = name
	p.access = grant.Access
	log := &p.log
	c := newConn(s, ws, log)
	if sr.br != nil {
		c.br, c.waiter = sr.br, newInputWaiter(sr.conn)
	}
	c.start()
	p.out = c
	if refused != "" {
		s.metrics.connsRefused.WithLabelValues(refused).Inc()
	}
	switch {
	case authErr != nil:
		// SPEC decision 6: accept the upgrade, say why, then close with 4401/4403 so the
		// provider stops retrying. No writer runs yet (nothing is queued), so this goroutine
		// writes.
		reason := refusalReason(authErr)
		log.Info("connection refused", "code", reason.Code(), "err", authErr)
		_ = c.writeBounded(websocket.BinaryMessage, encodeAuthDenied(authErr.Error()))
		c.close(reason)
	case !counted:
		// Over a connection limit: 1013, so the provider retries later (with its backoff).
		log.Warn("connection refused", "code", CloseTooManyConnections.Code(), "reason", CloseTooManyConnections.String())
		c.close(CloseTooManyConnections)
	}
	// finish waits until the writer has ended for good (after close is called or a write
	// fails), then stops the timers.
	finish := func() {
		<-c.writerDone.wait()
		c.timer.Stop()
	}
	refuse := func(done func()) {
		c.readPump(nil, nil, func() {
			finish()
			done()
		})
	}
	if refused != "" {
		return refuse
	}

	a, err := s.join(p, name)
	if err != nil {
		reason := CloseInternal
		if errors.Is(err, ErrClosed) {
			reason = CloseGoingAway
		}
		log.Info("join failed", "code", reason.Code(), "err", err)
		c.close(reason)
		return refuse
	}
	p.log.Info("connection opened", "remote", r.RemoteAddr, "access", grant.Access.String())
	s.metrics.connections.Inc()
	ev := ConnEvent{Doc: name, Principal: grant.Principal, Access: grant.Access, Conn: p.id, Remote: r.RemoteAddr}
	s.emitConnect(ev)
	var reauthDone chan struct{}
	if s.opts.Reauthenticate > 0 && (s.opts.Authenticate != nil || s.opts.Authorize != nil) {
		// The re-authenticator stops when the reader is done; serve waits for it.
		reauthDone = make(chan struct{})
		go func() {
			defer close(reauthDone)
			s.reauthenticate(r, name, a, p, c, grant.Access)
		}()
	}
	return func(done func()) {
		c.readPump(a, p, func() {
			s.connEnded(c, p, ev, reauthDone)
			finish()
			done()
		})
	}
}

// connEnded does the bookkeeping of a connection that joined a document once its reader ended:
// metrics, log, disconnect event; then it waits for the re-authenticator, if one runs.
func (s *Server) connEnded(c *conn, p *peer, ev ConnEvent, reauthDone chan struct{}) {
	s.metrics.connections.Dec()
	if c.byPeer {
		ev.Code = c.peerCode
		p.log.Info("connection closed by peer", "code", c.peerCode)
	} else {
		ev.Code = c.reason.Code()
		p.log.Info("connection closed", "code", c.reason.Code(), "reason", c.reason.String())
	}
	s.emitDisconnect(ev)
	if reauthDone != nil {
		<-reauthDone
	}
}

// reauthenticate re-runs the authentication hook for p every Options.Reauthenticate until the
// connection's reader ends, and tells the actor when the answer changes: a refusal closes p
// with 4401/4403, another access level applies at once.
func (s *Server) reauthenticate(r *http.Request, name string, a *actor, p *peer, c *conn, access Access) {
	t := time.NewTicker(s.opts.Reauthenticate)
	defer t.Stop()
	for {
		select {
		case <-c.readerDone.wait():
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		// r's own context may be done once the handler hijacked the connection; the hook
		// gets the server's instead.
		g, err := s.authenticate(s.ctx, r, name)
		msg := peerAccessMsg{p: p, access: g.Access}
		if err != nil {
			msg.access, msg.reason = AccessDenied, refusalReason(err)
			p.log.Info("re-authentication refused", "err", err)
		}
		if msg.access == access {
			continue
		}
		access = msg.access
		if !a.post(s.ctx, msg) || access == AccessDenied {
			return
		}
	}
}

// join registers p with the actor of name, retrying with a new actor if the one found exits.
func (s *Server) join(p *peer, name string) (*actor, error) {
	for attempt := 0; ; attempt++ {
		a, err := s.actorFor(name)
		if err != nil {
			return nil, err
		}
		reply := make(chan error, 1)
		err = a.call(s.ctx, joinMsg{p: p, reply: reply}, reply)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, errActorGone) || attempt >= maxRetries {
			return nil, err
		}
	}
}

// readPump is the connection's only reader. It forwards each binary message to the actor a as
// it arrives, and reports hostile input (text frames, oversized messages, rate violations) to
// the actor, which closes the connection with the matching code. When a is nil (the
// connection is being refused) it only waits for the close handshake. When the connection
// ends it tells the actor the peer left, then runs then.
//
// Reading may go on on other goroutines than the caller's (see readLoop); readPump may return
// before the connection ends. There is one reading goroutine at any time.
func (c *conn) readPump(a *actor, p *peer, then func()) {
	opts := &c.s.opts
	c.setReadDeadline(time.Now().Add(opts.PongWait))
	c.ws.SetPongHandler(func(string) error {
		c.setReadDeadline(time.Now().Add(opts.PongWait))
		return nil
	})
	c.rd = readState{
		a:        a,
		p:        p,
		limit:    newRateLimiter(opts.MaxMessageRate, opts.MaxByteRate, time.Now()),
		discard:  a == nil,
		boundary: true,
		then:     then,
	}
	c.readLoop()
}

// readState is the reader's state, kept in the conn so that reading can move to another
// goroutine.
type readState struct {
	a       *actor
	p       *peer
	limit   *rateLimiter
	overFor time.Duration // pause time since the peer was last within its rates
	discard bool          // after a violation, read only to see the peer's close answer
	// boundary: the input is at a frame boundary between messages (every message so far was
	// read to its end), so skipPong may look at the next frame's header.
	boundary bool
	then     func()
	// waitStart is when the reader last began to wait for input; active counts the waits in
	// a row that input ended within activeGap (see readLoop).
	waitStart time.Time
	active    int
}

// A reader whose last activeAfter waits each ended within activeGap (a peer typing, or
// replaying a trace) waits on a goroutine, which wakes sooner and cheaper than a parked one;
// other readers park with the idle poller.
const (
	activeGap   = 500 * time.Millisecond
	activeAfter = 3
)

// readLoop reads messages until the connection ends. When nothing is buffered and the socket
// has nothing to read, it parks the connection with the server's idlePoller (Linux: no
// goroutine waits at all; the poller starts readLoop again on input) or, for a busy peer or
// without a poller, hands the wait to a fresh goroutine (awaitInput), and returns: its own
// stack, grown by reading and handing over messages, is freed. Most connections are idle
// most of the time, so this is most of what each one costs. Without a waiter (TLS, or a
// platform without one) it waits in gorilla's NextReader like any reader.
func (c *conn) readLoop() {
	for {
		if c.waiter != nil && c.rd.boundary {
			if c.br.Buffered() == 0 && !c.waiter.ready() {
				c.rd.waitStart = time.Now()
				if c.rd.active < activeAfter {
					if p := c.s.idlePoller(); p != nil && p.park(c) {
						return
					}
				}
				go c.awaitInput()
				return
			}
			if c.skipPong() {
				continue
			}
		}
		if !c.readMessage() {
			break
		}
	}
	// Claim the close first, so that the actor's close of the departed peer is not counted
	// as a close by the server.
	c.byPeer = c.closeFirst(CloseGoingAway)
	if c.rd.a != nil {
		c.rd.a.post(c.s.ctx, leaveMsg{p: c.rd.p, reason: CloseGoingAway})
	}
	c.readerDone.fire()
	c.rd.then()
}

// awaitInput waits until the socket has input (or an error, or the read deadline passed),
// then goes on reading.
func (c *conn) awaitInput() {
	c.waiter.wait()
	c.woke()
	c.readLoop()
}

// woke records how long the reader waited (readState.active).
func (c *conn) woke() {
	if time.Since(c.rd.waitStart) < activeGap {
		c.rd.active++
	} else {
		c.rd.active = 0
	}
}

// resumeRead is readLoop for a parked reader's new goroutine.
func (c *conn) resumeRead() {
	c.woke()
	c.readLoop()
}

// skipPong consumes a pong frame that sits whole at the head of the buffered input and
// extends the read deadline, as the pong handler does. gorilla's NextReader would consume it
// too, but would then wait for the next data message deep in its own stack; readLoop waits for
// input on a small one instead. Anything but a complete, masked, final pong is left to gorilla.
func (c *conn) skipPong() bool {
	h, err := c.br.Peek(2)
	if err != nil {
		return false // NextReader reports it
	}
	const finPong, masked = 0x80 | websocket.PongMessage, 0x80
	size := int(h[1] &^ masked)
	if h[0] != finPong || h[1]&masked == 0 || size > 125 {
		return false
	}
	n := 2 + 4 + size // header, masking key, payload
	if c.br.Buffered() < n {
		return false
	}
	_, _ = c.br.Discard(n)
	c.setReadDeadline(time.Now().Add(c.s.opts.PongWait))
	return true
}

// readMessage reads and handles the next message. It returns false when the connection ended.
func (c *conn) readMessage() bool {
	opts := &c.s.opts
	rs := &c.rd
	typ, rd, err := c.ws.NextReader()
	if err != nil {
		c.peerCode = websocket.CloseAbnormalClosure
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			c.peerCode = ce.Code
		} else {
			c.log.Debug("read ended", "err", err)
		}
		return false
	}
	now := time.Now()
	c.setReadDeadline(now.Add(opts.PongWait))
	if rs.discard {
		rs.boundary = false
		return true
	}
	if typ != websocket.BinaryMessage {
		rs.boundary = false
		rs.discard = c.violation(rs.a, rs.p, CloseBadMessage, errors.New("text frame"))
		return true
	}
	frame, err := readLimited(rd, opts.MaxMessageBytes)
	if errors.Is(err, errTooLarge) {
		rs.boundary = false
		rs.discard = c.violation(rs.a, rs.p, CloseTooLarge, err)
		return true
	}
	if err != nil {
		c.peerCode = websocket.CloseAbnormalClosure
		c.log.Debug("read ended", "err", err)
		return false
	}
	c.s.metrics.messagesIn.Inc()
	c.s.metrics.bytesIn.Add(float64(len(frame)))
	if wait := rs.limit.delay(now); wait == 0 {
		rs.overFor = 0
	} else {
		// Over the rate: stop reading for a while (TCP pushes back on the peer). A peer
		// kept over for more than MaxThrottle in a row is closed with 1013.
		rs.overFor += wait
		if rs.overFor > opts.MaxThrottle {
			rs.discard = c.violation(rs.a, rs.p, CloseRateLimited, errors.New("message or byte rate above limit"))
			return true
		}
		c.s.metrics.throttled.Inc()
		if !c.pause(wait) {
			rs.discard = true
			return true
		}
		now = time.Now()
	}
	rs.limit.took(len(frame), now)
	if !rs.a.post(c.s.ctx, frameMsg{p: rs.p, frame: frame}) {
		c.close(CloseGoingAway)
		rs.discard = true
	}
	return true
}

// pause waits d, or until the connection is being closed (it then returns false).
func (c *conn) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.quit.wait():
		return false
	}
}

// violation reports hostile input to the actor, which closes the peer with reason and
// broadcasts its awareness removal. It returns true (the reader then discards input).
func (c *conn) violation(a *actor, p *peer, reason CloseReason, err error) bool {
	c.log.Warn("closing peer", "code", reason.Code(), "reason", reason.String(), "err", err)
	if !a.post(c.s.ctx, leaveMsg{p: p, reason: reason}) {
		c.close(reason)
	}
	return true
}

// readLimited reads a whole message of at most max bytes into a new buffer.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}

// writeRun is the writer goroutine; at most one runs at a time. It takes the whole send queue
// at once (merging runs of queued updates when coalesceAfter or more frames wait, i.e. the
// peer fell behind, so a backlog goes out as few large frames), writes it, re-arms the
// keep-alive timer, and exits when the queue is empty. Once close has been called it writes
// the close frame instead (a close goes before queued frames) and ends the connection.
func (c *conn) writeRun() {
	var spare [][]byte
	for {
		if c.closing() {
			c.progress.Store(time.Now().UnixNano())
			c.writeClose()
			c.endWriter()
			return
		}
		batch, ok := c.take(spare)
		if !ok {
			if c.linger() {
				continue
			}
			return
		}
		frames := batch
		if len(batch) >= coalesceAfter {
			frames = c.s.merges.coalesce(batch)
		}
		for _, f := range frames {
			if c.closing() {
				break
			}
			if err := c.write(websocket.BinaryMessage, f); err != nil {
				c.log.Debug("write failed", "err", err)
				c.closeSocket()
				c.endWriter()
				return
			}
			c.progress.Store(time.Now().UnixNano())
		}
		clear(batch)
		spare = batch
	}
}

// linger keeps the writer of a busy peer (lingerAfter batches in a row, each within
// lingerTick of the last) for a while after its queue emptied: the peer's next frames then
// find a writer whose stack has grown already. (A fresh goroutine grows its stack again for
// every burst: with a frame at a time to each of many peers, that copying took a sixth of the
// server's CPU.) Other writers exit at once, so that a burst of joins does not leave
// thousands of writers behind. It returns true when there is work (frames, or a close),
// false when the writer must exit: it is not busy, or nothing came within two ticks of the
// server's linger clock.
func (c *conn) linger() bool {
	for ticks := 0; ; ticks++ {
		c.qmu.Lock()
		if len(c.queue) > 0 || c.closing() {
			c.qmu.Unlock()
			return true
		}
		if ticks == 2 || c.quick < lingerAfter {
			c.writing = false
			c.qmu.Unlock()
			return false
		}
		if c.wake == nil {
			c.wake = make(chan struct{}, 1)
		}
		wake := c.wake
		c.lingering = true
		c.qmu.Unlock()
		select {
		case <-wake: // startWriterLocked cleared lingering
			return true
		case <-c.s.linger.next():
		}
		c.qmu.Lock()
		c.lingering = false
		select {
		case <-wake: // a wake-up that raced with the tick
		default:
		}
		c.qmu.Unlock()
	}
}

// endWriter records that the writer has ended for good: no writer starts again.
func (c *conn) endWriter() {
	c.qmu.Lock()
	c.ended = true
	c.writing = false
	c.queue = nil
	c.queued = 0
	c.qmu.Unlock()
	c.writerDone.fire()
}

// closing reports whether close has been called.
func (c *conn) closing() bool { return c.quit.isSet() }

// write writes one data message. It sets no deadline: the writer's writes are bounded by the
// watchdog in onTimer, and the only other caller (a refusal, before any writer runs) uses
// writeBounded.
func (c *conn) write(typ int, b []byte) error {
	if err := c.ws.WriteMessage(typ, b); err != nil {
		return err
	}
	c.s.metrics.framesOut.Inc()
	c.s.metrics.bytesOut.Add(float64(len(b)))
	return nil
}

// writeBounded is write with a deadline of WriteTimeout.
func (c *conn) writeBounded(typ int, b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
	defer func() { _ = c.ws.SetWriteDeadline(time.Time{}) }()
	return c.write(typ, b)
}

// writeClose sends the close frame for c.reason, waits up to the close grace period for the reader to see
// the peer's answer, and closes the connection.
func (c *conn) writeClose() {
	info := c.reason.info()
	msg := websocket.FormatCloseMessage(info.Code, info.Name)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.s.opts.WriteTimeout))
	grace := min(c.s.opts.WriteTimeout, maxCloseGrace)
	_ = c.ws.SetReadDeadline(time.Now().Add(grace))
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.readerDone.wait():
	case <-t.C:
	}
	c.closeSocket()
}

// closeSocket closes the connection's socket and resumes its reader if it is parked (a
// closed socket gives the poller no event), so that the reader ends the connection.
func (c *conn) closeSocket() {
	_ = c.ws.Close()
	c.kick()
}

// kick resumes the reader if it is parked.
func (c *conn) kick() {
	if c.parked.Load() {
		if p := c.s.poller.Load(); p != nil {
			p.forget(c)
		}
		c.resume()
	}
}

// resume starts a reader for a parked connection; of concurrent callers (the poller, a
// close, the timer) only the first does.
func (c *conn) resume() {
	if c.parked.CompareAndSwap(true, false) {
		go c.resumeRead()
	}
}

// setReadDeadline sets the socket's read deadline and records it for onTimer.
func (c *conn) setReadDeadline(t time.Time) {
	_ = c.ws.SetReadDeadline(t)
	c.readDeadline.Store(t.UnixNano())
}
