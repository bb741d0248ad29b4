package awareness

import (
	"fmt"
	"time"
)

// accepts is y-protocols' rule for applying one entry (yjs/y-protocols: awareness.js,
// applyAwarenessUpdate): with known = the recorded clock (0 for an unknown client), the entry
// is applied if its clock is newer, or if it is equal, the entry is a null and the client
// currently has a state.
func accepts(known uint64, hasState bool, clock uint64, null bool) bool {
	return clock > known || (clock == known && null && hasState)
}

// ApplyUpdate applies an awareness update received from owner, entry by entry in wire order,
// with y-protocols' rules (see accepts). An applied non-null entry stores the JSON text (a
// copy) and attributes the id to owner; an applied null removes the state and detaches the id;
// either records {clock, lastUpdated = now}. A null for an unknown id records its clock and is
// listed nowhere. Entries that are not applied (stale clocks, equal-clock renewals, echoes) are
// ignored and never checked for ownership.
//
// The update is applied whole or not at all: a malformed update (ErrMalformed), a size limit
// (ErrStateTooLarge, ErrTooManyEntries, ErrTooManyClients) or an entry that would change an
// id held by another owner (*OwnerError, ErrNotOwner) returns the error and leaves the State
// unchanged. None of these need end the connection: a y-websocket client that relays its other
// tabs' entries can trip the ownership check harmlessly.
//
// The Change lists the applied ids like y-protocols' `update` event and carries the update to
// broadcast to every connection, the sender included.
func (s *State[O]) ApplyUpdate(update []byte, now time.Time, owner O) (Change, error) {
	entries, err := decodeUpdate(update, s.opts.MaxUpdateEntries, s.opts.MaxStateBytes)
	if err != nil {
		return Change{}, err
	}
	if err := s.check(entries, owner); err != nil {
		return Change{}, err
	}
	var added, updated, removed []ClientID
	for _, e := range entries {
		c, known := s.clients[e.ClientID]
		var clock uint64
		hasState := false
		if known {
			clock, hasState = c.clock, c.json != nil
		}
		null := e.Removed()
		if !accepts(clock, hasState, e.Clock, null) {
			continue
		}
		if !known {
			c = &client[O]{}
			s.clients[e.ClientID] = c
		}
		c.clock, c.lastUpdated = e.Clock, now
		if null {
			c.json = nil
			s.detach(e.ClientID, c)
		} else {
			c.json = cloneJSON(e.JSON)
			s.attach(e.ClientID, c, owner)
		}
		switch {
		case !known && !null:
			added = append(added, e.ClientID)
		case known && null:
			removed = append(removed, e.ClientID)
		case !null:
			updated = append(updated, e.ClientID)
		}
	}
	return s.change(added, updated, removed), nil
}

// planned is what check assumes about a client after the entries seen so far.
type planned[O comparable] struct {
	known    bool
	clock    uint64
	hasState bool
	owner    O // meaningful when hasState
}

// check runs the entries against the State without changing it and reports the first
// ownership or capacity violation, so that ApplyUpdate can apply whole or nothing.
func (s *State[O]) check(entries []Entry, owner O) error {
	if len(entries) == 0 {
		return nil
	}
	plan := make(map[ClientID]planned[O], len(entries))
	lookup := func(id ClientID) planned[O] {
		if p, ok := plan[id]; ok {
			return p
		}
		if c, ok := s.clients[id]; ok {
			return planned[O]{known: true, clock: c.clock, hasState: c.json != nil, owner: c.owner}
		}
		return planned[O]{}
	}
	newIDs := 0
	for i, e := range entries {
		cur := lookup(e.ClientID)
		null := e.Removed()
		if !accepts(cur.clock, cur.hasState, e.Clock, null) {
			continue
		}
		if cur.hasState && cur.owner != owner && !s.opts.AllowTakeover {
			return &OwnerError{ClientID: e.ClientID, Index: i}
		}
		if !cur.known {
			newIDs++
		}
		next := planned[O]{known: true, clock: e.Clock, hasState: !null}
		if !null {
			next.owner = owner
		}
		plan[e.ClientID] = next
	}
	if len(plan) == 0 {
		return nil
	}
	if len(s.clients)+newIDs > s.opts.MaxClients {
		return fmt.Errorf("%w: the document would track %d client ids, at most %d allowed",
			ErrTooManyClients, len(s.clients)+newIDs, s.opts.MaxClients)
	}
	owned := len(s.owners[owner])
	for id, p := range plan {
		was := false
		if c, ok := s.clients[id]; ok && c.owned && c.owner == owner {
			was = true
		}
		is := p.hasState && p.owner == owner
		switch {
		case is && !was:
			owned++
		case was && !is:
			owned--
		}
	}
	if owned > s.opts.MaxClientsPerOwner {
		return fmt.Errorf("%w: one owner would hold %d client ids, at most %d allowed",
			ErrTooManyClients, owned, s.opts.MaxClientsPerOwner)
	}
	return nil
}
