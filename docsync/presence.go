package docsync

import (
	"errors"
	"fmt"
	"time"

	"github.com/tandemsync/tandem/awareness"
)

// presence is the document's awareness state, keyed by the peer that announced each client id.
// It is owned by the actor, like the rest of the core.
type presence struct {
	st *awareness.State[*peer]
}

func newPresence(opts *Options) *presence {
	st, err := awareness.New[*peer](awareness.Options{
		Timeout:            opts.AwarenessTimeout,
		MaxStateBytes:      opts.MaxAwarenessStateBytes,
		MaxClientsPerOwner: opts.MaxAwarenessClients,
	})
	if err != nil {
		// Options.withDefaults never leaves a negative field.
		panic(fmt.Sprintf("docsync: awareness options: %v", err))
	}
	return &presence{st: st}
}

// encodeAll returns an awareness update with every current state, or nil if there is none.
func (pr *presence) encodeAll() []byte { return pr.st.EncodeAll() }

// removeOwned removes the states p announced and returns the update announcing their removal
// (null at the retained clock), or nil if p owned none.
func (pr *presence) removeOwned(p *peer, now time.Time) []byte {
	return pr.st.RemoveOwner(p, now).Update
}

// forget drops p's states without producing an update (used when every peer is closed).
func (pr *presence) forget(p *peer, now time.Time) {
	pr.st.RemoveOwner(p, now)
}

// expire removes states not renewed within the timeout and returns their removal update.
func (pr *presence) expire(now time.Time) []byte {
	return pr.st.Expire(now).Update
}

// receiveAwareness applies an awareness update from p and broadcasts what was applied to every
// peer, p included: the echo keeps p's watchdog fed (SPEC §4.3 quirk 2). A peer may change only
// the client ids it announced; an update touching another peer's id is ignored as a whole (a
// y-websocket tab relays its sibling tabs' entries, so this is not a violation).
func (c *core) receiveAwareness(p *peer, update []byte, now time.Time) {
	ch, err := c.pres.st.ApplyUpdate(update, now, p)
	switch {
	case err == nil:
	case errors.Is(err, awareness.ErrNotOwner):
		p.log.Debug("awareness update for another peer's client ignored", "err", err)
		return
	case errors.Is(err, awareness.ErrStateTooLarge), errors.Is(err, awareness.ErrTooManyEntries),
		errors.Is(err, awareness.ErrTooManyClients):
		c.reject(p, CloseTooLarge, err)
		return
	default:
		c.reject(p, CloseBadMessage, err)
		return
	}
	if ch.Update != nil {
		c.broadcast(encodeAwareness(ch.Update), nil)
	}
}
