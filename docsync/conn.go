package docsync

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemsync/tandem/crdt"
)

// maxCloseGrace caps how long the writer waits for the peer's answer to our close frame before
// it drops the TCP connection (closing early can lose the frame: a reset, or a peer that has not
// read it yet). The wait is Options.WriteTimeout up to this cap.
const maxCloseGrace = 5 * time.Second

// maxWriteBatch is how many queued frames the writer takes at once.
const maxWriteBatch = 64

// coalesceAfter is how many frames must be waiting before the writer merges queued updates: a
// peer that keeps up gets the shared broadcast bytes as they are, one that lags gets fewer,
// merged frames.
const coalesceAfter = 8

// errTooLarge reports a message above Options.MaxMessageBytes.
var errTooLarge = errors.New("docsync: message too large")

// conn is one WebSocket connection: a reader (the HTTP handler's goroutine, readPump) and a
// writer (writePump), after gorilla/websocket's chat example. It is the actor's sink for the
// peer: the actor hands it frames with enqueue and asks it to end with close.
//
// Only writePump writes to ws (other goroutines may call only Close and control writes); only
// readPump reads.
type conn struct {
	s   *Server
	ws  *websocket.Conn
	log *slog.Logger

	send   chan []byte
	queued atomic.Int64 // bytes in send

	closeOnce sync.Once
	reason    CloseReason // written once, before quit is closed
	// byPeer and peerCode (set by readPump) tell whether the peer ended the connection, and
	// with which close code (1006: without a close frame).
	byPeer     bool
	peerCode   int
	quit       chan struct{}
	readerDone chan struct{}
	writerDone chan struct{}
}

func newConn(s *Server, ws *websocket.Conn, log *slog.Logger) *conn {
	return &conn{
		s:          s,
		ws:         ws,
		log:        log,
		send:       make(chan []byte, s.opts.SendQueueLen),
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// enqueue implements sink: it never blocks and returns false when the queue is full (by frame
// count or by bytes).
func (c *conn) enqueue(frame []byte) bool {
	n := int64(len(frame))
	// A frame larger than the byte budget still goes out when the queue is empty (a step 2
	// can be as large as the document).
	if total := c.queued.Add(n); total > c.s.opts.SendQueueBytes && total != n {
		c.queued.Add(-n)
		return false
	}
	select {
	case c.send <- frame:
		return true
	default:
		c.queued.Add(-n)
		return false
	}
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
	defer s.conns.Done()

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
		defer s.releaseConn(name)
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
	// The peer is created first so that the connection logs with its id; p.out is set below,
	// before the peer is shared with the actor.
	p := newPeer(nil, grant.Principal, s.log.With("doc", name))
	p.access = grant.Access
	log := p.log
	c := newConn(s, ws, log)
	p.out = c
	if refused != "" {
		s.metrics.connsRefused.WithLabelValues(refused).Inc()
	}
	switch {
	case authErr != nil:
		// SPEC decision 6: accept the upgrade, say why, then close with 4401/4403 so the
		// provider stops retrying. The writer is not running yet, so this goroutine writes.
		reason := refusalReason(authErr)
		log.Info("connection refused", "code", reason.Code(), "err", authErr)
		_ = c.write(websocket.BinaryMessage, encodeAuthDenied(authErr.Error()))
		c.close(reason)
	case !counted:
		// Over a connection limit: 1013, so the provider retries later (with its backoff).
		log.Warn("connection refused", "code", CloseTooManyConnections.Code(), "reason", CloseTooManyConnections.String())
		c.close(CloseTooManyConnections)
	}
	// The writer ends when close is called or a write fails; this handler waits for it.
	go c.writePump()
	defer func() { <-c.writerDone }()
	if refused != "" {
		c.readPump(nil, nil)
		return
	}

	a, err := s.join(p, name)
	if err != nil {
		reason := CloseInternal
		if errors.Is(err, ErrClosed) {
			reason = CloseGoingAway
		}
		log.Info("join failed", "code", reason.Code(), "err", err)
		c.close(reason)
		c.readPump(nil, nil)
		return
	}
	p.log.Info("connection opened", "remote", r.RemoteAddr, "access", grant.Access.String())
	s.metrics.connections.Inc()
	ev := ConnEvent{Doc: name, Principal: grant.Principal, Access: grant.Access, Conn: p.id, Remote: r.RemoteAddr}
	s.emitConnect(ev)
	if s.opts.Reauthenticate > 0 && (s.opts.Authenticate != nil || s.opts.Authorize != nil) {
		// The re-authenticator stops when the reader is done; this handler waits for it.
		reauthDone := make(chan struct{})
		go func() {
			defer close(reauthDone)
			s.reauthenticate(r, name, a, p, c, grant.Access)
		}()
		defer func() { <-reauthDone }()
	}
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

// writePump is the connection's only writer. It drains the send queue (coalescing runs of
// queued updates when coalesceAfter or more frames wait, i.e. the peer fell behind), pings every PingInterval, sends an empty
// awareness update after KeepAliveInterval without traffic, and on close writes the close frame
// and ends the connection.
func (c *conn) writePump() {
	defer close(c.writerDone)
	opts := &c.s.opts
	ping := time.NewTicker(opts.PingInterval)
	defer ping.Stop()
	var keepC <-chan time.Time
	var keep *time.Timer
	if opts.KeepAliveInterval > 0 {
		keep = time.NewTimer(opts.KeepAliveInterval)
		defer keep.Stop()
		keepC = keep.C
	}
	batch := make([][]byte, 0, maxWriteBatch)
	for {
		select {
		case <-c.quit: // a close request goes before queued frames
			c.writeClose()
			return
		default:
		}
		select {
		case f := <-c.send:
			batch = append(batch[:0], f)
			n := int64(len(f))
		drain:
			for len(batch) < maxWriteBatch {
				select {
				case f := <-c.send:
					batch = append(batch, f)
					n += int64(len(f))
				default:
					break drain
				}
			}
			c.queued.Add(-n)
			frames := batch
			if len(batch) >= coalesceAfter {
				frames = coalesce(batch)
			}
			for _, f := range frames {
				if c.closing() {
					break
				}
				if err := c.write(websocket.BinaryMessage, f); err != nil {
					c.log.Debug("write failed", "err", err)
					_ = c.ws.Close()
					return
				}
			}
			clear(batch)
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(opts.WriteTimeout)); err != nil {
				c.log.Debug("ping failed", "err", err)
				_ = c.ws.Close()
				return
			}
			continue // a ping does not feed the y-websocket watchdog
		case <-keepC:
			if err := c.write(websocket.BinaryMessage, keepAliveFrame); err != nil {
				c.log.Debug("write failed", "err", err)
				_ = c.ws.Close()
				return
			}
		case <-c.quit:
			c.writeClose()
			return
		}
		if keep != nil {
			keep.Reset(opts.KeepAliveInterval)
		}
	}
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

// coalesce merges each run of two or more consecutive sync update frames in batch into one
// (crdt.MergeUpdates), so a peer that fell behind catches up with fewer, smaller frames.
// Frames are never modified; a run that does not merge is left as is.
func coalesce(batch [][]byte) [][]byte {
	if len(batch) < 2 {
		return batch
	}
	out := batch[:0:0]
	for i := 0; i < len(batch); {
		j := i
		for j < len(batch) && isUpdateFrame(batch[j]) {
			j++
		}
		if j-i >= 2 {
			if merged, ok := mergeFrames(batch[i:j]); ok {
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
