package docsync

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
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
// it, and it exits when the queue is empty, so an idle connection costs one goroutine. Pings
// and keep-alives come from two runtime timers (time.AfterFunc), not a goroutine.
//
// Only the writer writes data messages to ws (other goroutines may call only Close and control
// writes: pings, the close frame); only readPump reads.
type conn struct {
	s   *Server
	ws  *websocket.Conn
	log *slog.Logger

	// qmu guards the send queue and the writer's state. The queue holds the frames the actor
	// handed over, in order, that the writer has not taken yet. It grows on demand (an idle
	// connection holds none) and is bounded by Options.SendQueueBytes and SendQueueLen.
	qmu     sync.Mutex
	queue   [][]byte
	queued  int64 // bytes in queue
	writing bool  // a writer goroutine is running
	ended   bool  // the writer has sent the close frame or failed; no writer starts again

	ping, keep *time.Timer // nil until start; keep is nil when keep-alives are off

	closeOnce sync.Once
	reason    CloseReason // written once, before quit is closed
	// byPeer and peerCode (set by readPump) tell whether the peer ended the connection, and
	// with which close code (1006: without a close frame).
	byPeer     bool
	peerCode   int
	quit       chan struct{}
	readerDone chan struct{}
	writerDone chan struct{} // closed when the writer has ended for good
}

func newConn(s *Server, ws *websocket.Conn, log *slog.Logger) *conn {
	return &conn{
		s:          s,
		ws:         ws,
		log:        log,
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// start arms the ping and keep-alive timers. Frames may be queued before it.
func (c *conn) start() {
	opts := &c.s.opts
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.ping = time.AfterFunc(opts.PingInterval, c.sendPing)
	if opts.KeepAliveInterval > 0 {
		c.keep = time.AfterFunc(opts.KeepAliveInterval, c.keepAlive)
	}
}

// sendPing pings the peer (a control write, allowed beside the writer) and re-arms itself.
func (c *conn) sendPing() {
	if c.closing() {
		return
	}
	opts := &c.s.opts
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(opts.WriteTimeout)); err != nil {
		c.log.Debug("ping failed", "err", err)
		_ = c.ws.Close() // the reader fails and ends the connection
		return
	}
	c.qmu.Lock()
	t := c.ping
	c.qmu.Unlock()
	t.Reset(opts.PingInterval)
}

// keepAlive queues an empty awareness update after KeepAliveInterval without a write; the
// writer re-arms the timer after every write.
func (c *conn) keepAlive() {
	if !c.closing() {
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

// startWriterLocked starts the writer goroutine unless one runs or the writer has ended.
// c.qmu is held.
func (c *conn) startWriterLocked() {
	if !c.writing && !c.ended {
		c.writing = true
		go c.writeRun()
	}
}

// take returns every queued frame and empties the queue, which reuses spare (a slice the
// writer is done with) when it is small. When the queue is empty and no close was requested,
// the writer stops: take returns ok false and the writer must exit.
func (c *conn) take(spare [][]byte) (q [][]byte, ok bool) {
	if cap(spare) > maxSpareQueue {
		spare = nil // let a burst's backing array go
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) == 0 && !c.closing() {
		c.writing = false
		return nil, false
	}
	q = c.queue
	c.queue = spare[:0]
	c.queued = 0
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
		close(c.quit)
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
	ws, err := s.upgrader.Upgrade(w, r, hdr)
	if err != nil {
		s.log.Debug("websocket upgrade failed", "doc", name, "err", err)
		return // Upgrade has answered with an HTTP error
	}
	// Set up here, then serve the connection on a goroutine of its own and return, so that
	// net/http's per-connection buffers and this goroutine's deep stack are released while
	// the WebSocket stays open; the reader starts on a fresh, small stack. Shutdown waits for
	// it through s.conns.
	serve := s.startSync(ws, r, name, grant, authErr, refused, counted)
	handedOff = true
	go func() {
		defer s.conns.Done()
		if counted {
			defer s.releaseConn(name)
		}
		serve()
	}()
}

// startSync sets up an upgraded WebSocket for the document name: a refusal (authErr, refused,
// !counted) is sent and its close requested, otherwise the peer joins the document's actor. It
// returns the rest, which the caller runs on the connection's goroutine: readPump until the
// connection ends, then the bookkeeping of its end, waiting for the writer (and the
// re-authenticator).
func (s *Server) startSync(ws *websocket.Conn, r *http.Request, name string, grant Grant, authErr error, refused string, counted bool) (serve func()) {
	// The peer is created first so that the connection logs with its id; p.out is set below,
	// before the peer is shared with the actor.
	p := newPeer(nil, grant.Principal, s.log.With("doc", name))
	p.access = grant.Access
	log := p.log
	c := newConn(s, ws, log)
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
		_ = c.write(websocket.BinaryMessage, encodeAuthDenied(authErr.Error()))
		c.close(reason)
	case !counted:
		// Over a connection limit: 1013, so the provider retries later (with its backoff).
		log.Warn("connection refused", "code", CloseTooManyConnections.Code(), "reason", CloseTooManyConnections.String())
		c.close(CloseTooManyConnections)
	}
	// finish waits until the writer has ended for good (after close is called or a write
	// fails), then stops the timers.
	finish := func() {
		<-c.writerDone
		c.ping.Stop()
		if c.keep != nil {
			c.keep.Stop()
		}
	}
	refuse := func() {
		c.readPump(nil, nil)
		finish()
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
	return func() {
		c.readPump(a, p)
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
		finish()
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
		case <-c.readerDone:
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
// connection is being refused) it only waits for the close handshake. It returns when the
// connection ends, after telling the actor the peer left.
func (c *conn) readPump(a *actor, p *peer) {
	defer close(c.readerDone)
	opts := &c.s.opts
	_ = c.ws.SetReadDeadline(time.Now().Add(opts.PongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(opts.PongWait))
	})
	limit := newRateLimiter(opts.MaxMessageRate, opts.MaxByteRate, time.Now())
	var overFor time.Duration // pause time since the peer was last within its rates
	discard := a == nil       // after a violation, read only to see the peer's close answer
	for {
		typ, rd, err := c.ws.NextReader()
		if err != nil {
			c.peerCode = websocket.CloseAbnormalClosure
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.peerCode = ce.Code
			} else {
				c.log.Debug("read ended", "err", err)
			}
			break
		}
		now := time.Now()
		_ = c.ws.SetReadDeadline(now.Add(opts.PongWait))
		if discard {
			continue
		}
		if typ != websocket.BinaryMessage {
			discard = c.violation(a, p, CloseBadMessage, errors.New("text frame"))
			continue
		}
		frame, err := readLimited(rd, opts.MaxMessageBytes)
		if errors.Is(err, errTooLarge) {
			discard = c.violation(a, p, CloseTooLarge, err)
			continue
		}
		if err != nil {
			c.peerCode = websocket.CloseAbnormalClosure
			c.log.Debug("read ended", "err", err)
			break
		}
		c.s.metrics.messagesIn.Inc()
		c.s.metrics.bytesIn.Add(float64(len(frame)))
		if wait := limit.delay(now); wait == 0 {
			overFor = 0
		} else {
			// Over the rate: stop reading for a while (TCP pushes back on the peer). A peer
			// kept over for more than MaxThrottle in a row is closed with 1013.
			overFor += wait
			if overFor > opts.MaxThrottle {
				discard = c.violation(a, p, CloseRateLimited, errors.New("message or byte rate above limit"))
				continue
			}
			c.s.metrics.throttled.Inc()
			if !c.pause(wait) {
				discard = true
				continue
			}
			now = time.Now()
		}
		limit.took(len(frame), now)
		if !a.post(c.s.ctx, frameMsg{p: p, frame: frame}) {
			c.close(CloseGoingAway)
			discard = true
		}
	}
	// Claim the close first, so that the actor's close of the departed peer is not counted
	// as a close by the server.
	c.byPeer = c.closeFirst(CloseGoingAway)
	if a != nil {
		a.post(c.s.ctx, leaveMsg{p: p, reason: CloseGoingAway})
	}
}

// pause waits d, or until the connection is being closed (it then returns false).
func (c *conn) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.quit:
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
			c.writeClose()
			c.endWriter()
			return
		}
		batch, ok := c.take(spare)
		if !ok {
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
				_ = c.ws.Close()
				c.endWriter()
				return
			}
		}
		clear(batch)
		spare = batch
		c.qmu.Lock()
		keep := c.keep
		c.qmu.Unlock()
		if keep != nil {
			keep.Reset(c.s.opts.KeepAliveInterval)
		}
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
	close(c.writerDone)
}

// closing reports whether close has been called.
func (c *conn) closing() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

func (c *conn) write(typ int, b []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout)); err != nil {
		return err
	}
	if err := c.ws.WriteMessage(typ, b); err != nil {
		return err
	}
	c.s.metrics.framesOut.Inc()
	c.s.metrics.bytesOut.Add(float64(len(b)))
	return nil
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
	case <-c.readerDone:
	case <-t.C:
	}
	_ = c.ws.Close()
}
