package docsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// sink is where the actor hands the frames meant for one peer. A WebSocket connection is one
// sink; a relay to other nodes would be another. Both methods must never block and be safe to
// call from several goroutines: the actor calls them, and a connection calls them on itself
// (its reader's close, its keep-alive timer).
type sink interface {
	// enqueue hands frame to the peer's writer. It returns false, without blocking, when the
	// peer's queue is full. frame is shared with other peers and must not be modified.
	enqueue(frame []byte) bool
	// close asks the peer to send reason's close frame and end the connection. Only the first
	// call has an effect.
	close(reason CloseReason)
}

// peer is the actor's view of one connection. The fields below out are owned by the actor.
type peer struct {
	id   uuid.UUID
	user string
	out  sink
	log  peerLog

	// access is the peer's permission; read-only peers' updates are dropped. Changed only by
	// the actor (Server.SetAccess, re-authentication).
	access Access

	// gone is set when the core removes the peer; nothing is sent to it afterwards.
	gone bool
}

func newPeer(out sink, user string, log *slog.Logger) *peer {
	id := uuid.New()
	return &peer{id: id, user: user, access: AccessReadWrite, out: out, log: peerLog{base: log, id: id}}
}

// effectKind says what an effect asks the run loop to do.
type effectKind uint8

const (
	effSend    effectKind = iota + 1 // hand frame to peer (never blocks)
	effClose                         // close peer with reason
	effAppend                        // append in.rec to the store; acked later with in.token
	effDurable                       // in is durable and broadcast: report it (hooks, metrics)
)

// effect is one output of the core, executed by the actor's run loop in order.
type effect struct {
	kind   effectKind
	peer   *peer
	frame  []byte
	reason CloseReason
	in     *inflight
}

// inflight is an accepted update waiting for its durability acknowledgement. When it and every
// update before it are durable, its frame is broadcast and its reply (if any) is answered.
type inflight struct {
	token  uint64
	rec    persistence.Record
	frame  []byte // broadcast frame, encoded once; nil when nothing is broadcast
	origin *peer  // the sender, skipped by the broadcast unless Options.EchoUpdates
	// to, when set, is the only peer frame goes to: a step 2 that waits for every earlier
	// append, so that it carries only durable updates. It has no record.
	to    *peer
	reply chan<- error
	acked bool
	seq   uint64
}

// errStorage wraps a failed durable append.
var errStorage = errors.New("docsync: storage failure")

// core is the synchronous heart of one document actor: it owns the crdt.Doc, the awareness
// states and the peer set, takes one input at a time and records the resulting effects in fx.
// It does no I/O and never blocks; the run loop (actor.go) executes the effects.
//
// Ordering contract, per update: decode → integrate (crdt ApplyUpdate, whole or nothing) →
// append to the store → once this and every earlier append are acknowledged, broadcast the
// frame to the other peers and answer the server-side caller. Integration goes on while
// appends are in flight, so later updates and reads see state that is not durable yet; a step
// 2 reply, computed from that state, waits in inflight (as an acknowledged entry for its one
// peer) until every earlier append is acknowledged, so peers only ever receive durable updates.
//
// Invariant: inflight is in token order; tokens are consecutive from inflight[0].token.
type core struct {
	name string
	opts *Options
	log  *slog.Logger
	doc  *crdt.Doc
	pres *presence

	peers     []*peer // join order
	inflight  []*inflight
	nextToken uint64
	lastSeq   uint64

	// changed is set by the Doc's update listener while ApplyUpdate runs.
	changed bool
	// pendingBytes is the size of the updates applied while the Doc had pending structs or
	// a pending delete set; it resets when nothing is pending.
	pendingBytes int
	// fullStep2 caches the step 2 frame holding the whole state, shared by every joiner with an
	// empty state vector; nil when stale.
	fullStep2 []byte
	// failed is set when a durable append fails; the actor then stops.
	failed error
	// sv is the Doc's state vector after the last stored update (see advanced).
	sv crdt.StateVector
	// now is the time of the input being handled, passed in by the caller.
	now time.Time
	// docBytes estimates the document's encoded size: measured with EncodeStateAsUpdate,
	// plus the size of every update applied since (see fits).
	docBytes int64
	// m counts refused updates; nil in tests that build a core alone.
	m *metrics

	fx, spare []effect
}

// newCore returns a core for doc, which is already loaded up to lastSeq.
func newCore(name string, doc *crdt.Doc, lastSeq uint64, opts *Options, log *slog.Logger) *core {
	c := &core{
		name:      name,
		opts:      opts,
		log:       log,
		doc:       doc,
		lastSeq:   lastSeq,
		pres:      newPresence(opts),
		nextToken: 1,
		sv:        doc.StateVector(),
		docBytes:  -1, // measured on first need
	}
	doc.OnUpdate(func([]byte, any) { c.changed = true })
	return c
}

// takeEffects returns the effects recorded so far and starts a new list. The returned slice is
// valid until the next call (effects recorded meanwhile go to the new list): the core alternates
// between two backing arrays so that a broadcast to many peers does not allocate.
func (c *core) takeEffects() []effect {
	fx := c.fx
	clear(c.spare) // drop references held by the list before last
	c.fx, c.spare = c.spare[:0], fx
	return fx
}

func (c *core) send(p *peer, frame []byte) {
	if !p.gone {
		c.fx = append(c.fx, effect{kind: effSend, peer: p, frame: frame})
	}
}

// broadcast sends frame to every peer except skip (nil: everyone).
func (c *core) broadcast(frame []byte, skip *peer) {
	for _, p := range c.peers {
		if p != skip {
			c.send(p, frame)
		}
	}
}

// idle reports whether the document has no peers and no update awaiting durability.
func (c *core) idle() bool { return len(c.peers) == 0 && len(c.inflight) == 0 }

// join adds p: it will receive every broadcast from now on. It is sent the server's sync step 1
// and, if any, the current awareness states (SPEC §4.2 "Reference server, on connection").
func (c *core) join(p *peer, now time.Time) {
	c.now = now
	c.peers = append(c.peers, p)
	c.send(p, encodeSyncStep1(c.doc.EncodeStateVector()))
	if all := c.pres.encodeAll(); all != nil {
		c.send(p, encodeAwareness(all))
	}
	p.log.Debug("joined", "peers", len(c.peers))
}

// leave removes p, closes it with reason, and broadcasts the removal of the awareness states
// it owned. A peer that already left is ignored.
func (c *core) leave(p *peer, reason CloseReason, now time.Time) {
	c.now = now
	c.drop(p, reason)
}

// drop removes p at c.now (see leave).
func (c *core) drop(p *peer, reason CloseReason) {
	if p.gone {
		return
	}
	if i := slices.Index(c.peers, p); i >= 0 {
		c.peers = slices.Delete(c.peers, i, i+1)
	}
	p.gone = true
	c.fx = append(c.fx, effect{kind: effClose, peer: p, reason: reason})
	if removed := c.pres.removeOwned(p, c.now); removed != nil {
		c.broadcast(encodeAwareness(removed), nil)
	}
}

// reject closes p for a protocol violation and logs it.
func (c *core) reject(p *peer, reason CloseReason, err error) {
	if p.gone {
		return
	}
	p.log.Warn("closing peer", "code", reason.Code(), "reason", reason.String(), "err", err)
	c.drop(p, reason)
}

// closeAll closes every peer with reason, without awareness broadcasts (nobody is left).
func (c *core) closeAll(reason CloseReason) {
	for _, p := range c.peers {
		p.gone = true
		c.fx = append(c.fx, effect{kind: effClose, peer: p, reason: reason})
		c.pres.forget(p, c.now)
	}
	c.peers = nil
}

// receive handles one frame from p.
func (c *core) receive(p *peer, frame []byte, now time.Time) {
	c.now = now
	if p.gone {
		return
	}
	m, err := decodeMessage(frame)
	if err != nil {
		c.reject(p, CloseBadMessage, err)
		return
	}
	switch m.typ {
	case messageSync:
		switch m.syncType {
		case messageYjsSyncStep1:
			c.answerStep1(p, m.payload)
		case messageYjsSyncStep2, messageYjsUpdate:
			if p.access < AccessReadWrite {
				// Read-only: the update is dropped, never applied, stored or forwarded. The
				// peer stays connected (it still receives everything and shows presence).
				c.refused("read_only")
				p.log.Debug("update from read-only peer dropped", "bytes", len(m.payload))
				return
			}
			if m.syncType == messageYjsSyncStep2 {
				c.integrate(p, m.payload, nil, nil, now)
			} else {
				// The received frame is exactly `00 02 update`: broadcast it as is.
				c.integrate(p, m.payload, frame, nil, now)
			}
		}
	case messageAwareness:
		c.receiveAwareness(p, m.payload, now)
	case messageQueryAwareness:
		all := c.pres.encodeAll()
		if all == nil {
			all = emptyAwarenessUpdate
		}
		c.send(p, encodeAwareness(all))
	case messageAuth:
		// Clients never send it in y-websocket; ignored like the reference server does.
	}
}

// emptyAwarenessUpdate is an awareness update with no entries.
var emptyAwarenessUpdate = []byte{0}

// answerStep1 replies to a sync step 1 with a step 2 holding what the peer lacks.
func (c *core) answerStep1(p *peer, svBytes []byte) {
	sv, err := crdt.DecodeStateVector(svBytes)
	if err != nil {
		c.reject(p, CloseBadMessage, fmt.Errorf("sync step 1: %w", err))
		return
	}
	frame := c.fullStep2
	if len(sv) != 0 || frame == nil {
		update, err := c.doc.EncodeStateAsUpdate(svBytes)
		if err != nil {
			c.reject(p, CloseBadMessage, fmt.Errorf("sync step 1: %w", err))
			return
		}
		frame = encodeSyncStep2(update)
		if len(sv) == 0 {
			// Joiners with an empty document share one encoding of the whole state (it is
			// dropped whenever the document changes).
			c.fullStep2 = frame
		}
	}
	c.sendDurable(p, frame)
}

// sendDurable sends frame, computed from the current Doc, to p once every update in it is
// durable: at once when no append is in flight, otherwise after the acknowledgement of every
// earlier append (an already acknowledged inflight entry for p alone). So no peer ever receives
// an update that a crash could still lose.
func (c *core) sendDurable(p *peer, frame []byte) {
	if len(c.inflight) == 0 {
		c.send(p, frame)
		return
	}
	c.enqueueInflight(&inflight{frame: frame, to: p, acked: true})
}

// integrate applies update (from origin, or from the server when origin is nil), and when it
// changed the document or left something pending, appends it to the store; the broadcast of
// frame (encoded here when nil) and the reply wait for the acknowledgement.
func (c *core) integrate(origin *peer, update, frame []byte, reply chan<- error, now time.Time) {
	c.integrateAs(origin, "", update, frame, reply, now)
}

// integrateAs is integrate for a server-side update recorded as user.
func (c *core) integrateAs(origin *peer, user string, update, frame []byte, reply chan<- error, now time.Time) {
	if !c.fits(int64(len(update))) {
		c.refused("document_too_large")
		err := fmt.Errorf("%w: %d bytes plus a %d-byte update exceed the %d-byte limit", ErrTooLarge, c.docBytes, len(update), c.opts.MaxDocumentBytes)
		if origin != nil {
			c.reject(origin, CloseDocumentTooLarge, err)
		}
		if reply != nil {
			reply <- err
		}
		return
	}
	c.changed = false
	if err := c.doc.ApplyUpdate(update); err != nil {
		if origin != nil {
			c.reject(origin, CloseBadMessage, fmt.Errorf("update: %w", err))
		}
		if reply != nil {
			reply <- fmt.Errorf("%w: %w", ErrBadUpdate, err)
		}
		c.refused("malformed")
		return
	}
	c.stored(origin, user, update, frame, reply, now)
}

// stored takes an update already applied to the Doc: when it changed the document or left
// something pending, it is appended to the store; the broadcast of frame (encoded here when
// nil) and the reply wait for the acknowledgement.
func (c *core) stored(origin *peer, user string, update, frame []byte, reply chan<- error, now time.Time) {
	if c.docBytes >= 0 {
		c.docBytes += int64(len(update))
	}
	pendingStructs, pendingDS := c.doc.HasPending()
	pending := pendingStructs || pendingDS
	if !c.changed && !pending {
		// Nothing new (e.g. the delete set a reconnecting client repeats): nothing to
		// persist or broadcast. A server-side caller still waits for earlier appends.
		if reply != nil {
			c.enqueueInflight(&inflight{reply: reply, acked: true})
			c.release()
		}
		return
	}
	c.fullStep2 = nil
	overCap := false
	if pending {
		c.pendingBytes += len(update)
		overCap = c.pendingBytes > c.opts.MaxPendingBytes
	} else {
		c.pendingBytes = 0
	}
	if frame == nil {
		frame = encodeSyncUpdate(update)
	}
	in := &inflight{
		rec: persistence.Record{
			Time:    now,
			Clients: c.advanced(),
			Update:  update,
		},
		frame:  frame,
		origin: origin,
		reply:  reply,
	}
	in.rec.User = user
	if origin != nil {
		in.rec.ConnID = origin.id
		in.rec.User = origin.user
	}
	c.enqueueInflight(in)
	c.fx = append(c.fx, effect{kind: effAppend, in: in})
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("update", "token", in.token, "bytes", len(update), "pending", pending)
	}
	if overCap && origin != nil {
		c.reject(origin, CloseMissingDependencies,
			fmt.Errorf("%d bytes of updates wait for missing dependencies", c.pendingBytes))
	}
}

func (c *core) enqueueInflight(in *inflight) {
	in.token = c.nextToken
	c.nextToken++
	c.inflight = append(c.inflight, in)
}

// advanced returns, sorted, the clients whose clock advanced since the previous call (nil if
// none), and remembers the current state vector.
func (c *core) advanced() []uint64 {
	after := c.doc.StateVector()
	var ids []uint64
	for id, clock := range after {
		if clock > c.sv[id] {
			ids = append(ids, id)
		}
	}
	c.sv = after
	slices.Sort(ids)
	return ids
}

// acked records the store's acknowledgement of the append with token.
func (c *core) acked(token, seq uint64, err error) {
	if len(c.inflight) == 0 || token < c.inflight[0].token || token-c.inflight[0].token >= uint64(len(c.inflight)) {
		c.log.Error("acknowledgement for an unknown append", "token", token)
		return
	}
	in := c.inflight[token-c.inflight[0].token]
	if err != nil {
		c.fail(fmt.Errorf("%w: append: %w", errStorage, err))
		return
	}
	in.acked = true
	in.seq = seq
	c.release()
}

// release broadcasts and answers the acknowledged prefix of inflight, in order.
func (c *core) release() {
	for len(c.inflight) > 0 && c.inflight[0].acked {
		in := c.inflight[0]
		c.inflight[0] = nil
		c.inflight = c.inflight[1:]
		if in.seq > c.lastSeq {
			c.lastSeq = in.seq
		}
		switch {
		case in.to != nil:
			c.send(in.to, in.frame) // nothing if the peer left meanwhile
		case in.frame != nil:
			skip := in.origin
			if c.opts.EchoUpdates {
				skip = nil
			}
			c.broadcast(in.frame, skip)
		}
		if in.rec.Update != nil {
			c.fx = append(c.fx, effect{kind: effDurable, in: in})
		}
		if in.reply != nil {
			in.reply <- nil
		}
	}
	if len(c.inflight) == 0 {
		c.inflight = nil // drop the consumed backing array
	}
}

// fail stops the document after a storage failure: the in-memory state holds updates that may
// never become durable, so every peer is closed with 1011 (they reconnect, resync and resend
// what the store lacks) and the actor exits; the next join reloads from the store.
func (c *core) fail(err error) {
	if c.failed != nil {
		return
	}
	c.failed = err
	c.log.Error("document failed", "err", err)
	for _, in := range c.inflight {
		if in.reply != nil {
			in.reply <- err
		}
	}
	c.inflight = nil
	c.closeAll(CloseInternal)
}

// applyLocal applies a server-side update; reply gets nil once it is durable and broadcast.
func (c *core) applyLocal(update []byte, reply chan<- error, now time.Time) {
	c.applyLocalAs("", update, reply, now)
}

// applyLocalAs is applyLocal recording user as the update's author.
func (c *core) applyLocalAs(user string, update []byte, reply chan<- error, now time.Time) {
	c.now = now
	c.integrateAs(nil, user, update, nil, reply, now)
}

// editLocal runs fn in one crdt transaction on the Doc (a server-side edit recorded as user)
// and stores and broadcasts the update it produced; reply gets nil once that is durable and
// broadcast (at once if fn changed nothing). An edit cannot be undone, so the size limit is
// checked before it runs, against the current size.
func (c *core) editLocal(user string, fn func(tx *crdt.Transaction, d *crdt.Doc), reply chan<- error, now time.Time) {
	c.now = now
	if !c.fits(0) {
		c.refused("document_too_large")
		reply <- fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, c.docBytes, c.opts.MaxDocumentBytes)
		return
	}
	var update []byte
	cancel := c.doc.OnUpdate(func(u []byte, origin any) {
		if origin == editOrigin {
			update = u
		}
	})
	c.changed = false
	c.doc.Transact(editOrigin, func(tx *crdt.Transaction) { fn(tx, c.doc) })
	cancel()
	if update == nil {
		c.enqueueInflight(&inflight{reply: reply, acked: true})
		c.release()
		return
	}
	c.stored(nil, user, update, nil, reply, now)
}

// editOrigin marks the transactions of Server.Edit.
var editOrigin = new(int)

// fits reports whether n more bytes keep the document within Options.MaxDocumentBytes. The
// running estimate only grows (deleted content stays counted), so when it would pass the limit
// the document is measured again (one EncodeStateAsUpdate) before refusing.
func (c *core) fits(n int64) bool {
	limit := c.opts.MaxDocumentBytes
	if limit <= 0 {
		return true
	}
	if c.docBytes >= 0 && c.docBytes+n <= limit {
		return true
	}
	if full, err := c.doc.EncodeStateAsUpdate(nil); err == nil {
		c.docBytes = int64(len(full))
	}
	return c.docBytes+n <= limit
}

// refused counts an update that was not applied.
func (c *core) refused(reason string) {
	if c.m != nil {
		c.m.updatesRefused.WithLabelValues(reason).Inc()
	}
}

// setAccess changes the access of every peer of principal (Server.SetAccess, Server.Revoke):
// AccessDenied closes them with 4403. It returns how many peers it changed.
func (c *core) setAccess(principal string, access Access, now time.Time) int {
	c.now = now
	var hit []*peer
	for _, p := range c.peers {
		if p.user == principal {
			hit = append(hit, p)
		}
	}
	for _, p := range hit {
		c.setPeerAccess(p, access, CloseForbidden)
	}
	return len(hit)
}

// setPeerAccess changes p's access; AccessDenied closes it with reason (4401 or 4403).
func (c *core) setPeerAccess(p *peer, access Access, reason CloseReason) {
	if p.gone {
		return
	}
	if access == AccessDenied {
		// Only the close frame is sent: the writer sends a close before queued frames.
		p.log.Info("access revoked", "code", reason.Code())
		c.drop(p, reason)
		return
	}
	if p.access != access {
		p.log.Info("access changed", "access", access.String())
		p.access = access
	}
}

// tick removes awareness states that were not renewed within Options.AwarenessTimeout.
func (c *core) tick(now time.Time) {
	c.now = now
	if removed := c.pres.expire(now); removed != nil {
		c.broadcast(encodeAwareness(removed), nil)
	}
}
