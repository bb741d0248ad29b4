package awareness

import (
	"bytes"
	"errors"
	"slices"
	"time"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// ClientID is a Yjs client id as it appears in awareness updates (at most 2^53−1).
type ClientID uint64

// Defaults used for zero Options fields.
const (
	// DefaultTimeout is y-protocols' outdatedTimeout: a state not renewed for this long is
	// removed.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxStateBytes bounds the JSON text of one state.
	DefaultMaxStateBytes = 64 << 10
	// DefaultMaxUpdateEntries bounds the entries of one update.
	DefaultMaxUpdateEntries = 4096
	// DefaultMaxClients bounds the client ids one State tracks, removed ones included.
	DefaultMaxClients = 10000
	// DefaultMaxClientsPerOwner bounds the client ids attributed to one owner.
	DefaultMaxClientsPerOwner = 64
)

// Options configures a State. The zero value is ready to use.
type Options struct {
	// Timeout is how long a state lives without being renewed by an applied entry. Zero means
	// DefaultTimeout (30 s, as y-protocols). A client whose state was removed is also
	// forgotten (its clock included) once this long has passed since its last change.
	Timeout time.Duration
	// MaxStateBytes is the largest JSON text accepted for one state, in bytes. Zero means
	// DefaultMaxStateBytes (64 KiB).
	MaxStateBytes int
	// MaxUpdateEntries is the largest entry count accepted in one update. Zero means
	// DefaultMaxUpdateEntries (4096). A y-websocket client echoes every entry it applies, so
	// keep it at least MaxClients-sized for documents with many peers.
	MaxUpdateEntries int
	// MaxClients is the largest number of client ids the State tracks, including removed ids
	// whose clock is still kept. Zero means DefaultMaxClients (10000).
	MaxClients int
	// MaxClientsPerOwner is the largest number of client ids with a state attributed to one
	// owner. A browser tab announces one id, plus the ids of its other tabs that it relays
	// (y-websocket's BroadcastChannel). Zero means DefaultMaxClientsPerOwner (64).
	MaxClientsPerOwner int
	// AllowTakeover lets an owner change a client id that holds a state announced by another
	// owner; the id then moves to the new owner (the rule SPEC §4.3 suggests for Go). False
	// (the zero value) rejects such an update with an *OwnerError.
	AllowTakeover bool
}

// errBadOptions reports negative Options fields.
var errBadOptions = errors.New("awareness: negative option")

func (o Options) withDefaults() (Options, error) {
	if o.Timeout < 0 || o.MaxStateBytes < 0 || o.MaxUpdateEntries < 0 || o.MaxClients < 0 || o.MaxClientsPerOwner < 0 {
		return o, errBadOptions
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxStateBytes == 0 {
		o.MaxStateBytes = DefaultMaxStateBytes
	}
	if o.MaxUpdateEntries == 0 {
		o.MaxUpdateEntries = DefaultMaxUpdateEntries
	}
	if o.MaxClients == 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxClientsPerOwner == 0 {
		o.MaxClientsPerOwner = DefaultMaxClientsPerOwner
	}
	return o, nil
}

// State holds the awareness states of one document, as a server sees them: y-protocols'
// Awareness with no client id and no state of its own. O is the caller's owner key, typically
// a connection; it must be comparable and is only compared and stored.
//
// Invariants: every client with a state has an owner; owners[o] holds exactly the ids whose
// client has owner o and a state; len(clients) ≤ MaxClients; len(owners[o]) ≤
// MaxClientsPerOwner.
//
// A State is not safe for concurrent use; its owner (the document actor) serializes calls.
type State[O comparable] struct {
	opts    Options
	clients map[ClientID]*client[O]
	owners  map[O]map[ClientID]struct{}
}

// client is what the State keeps per client id (y-protocols: meta and states).
type client[O comparable] struct {
	clock       uint64
	json        []byte // nil: no state (removed, or only a null was ever applied)
	lastUpdated time.Time
	owner       O
	owned       bool // owner is set; true exactly when json != nil
}

// Meta is a snapshot of what a State knows about one client id.
type Meta struct {
	// Clock is the last applied clock. It is kept after the state is removed.
	Clock uint64
	// JSON is the state's JSON text as received, or nil if the client has no state. It is
	// shared with the State and must not be modified.
	JSON []byte
	// LastUpdated is the time of the last applied entry or removal.
	LastUpdated time.Time
}

// Change describes what one call changed, in the terms of y-protocols' `update` event, and
// carries the update to broadcast.
type Change struct {
	// Added lists ids that were unknown and received a state, in update order.
	Added []ClientID
	// Updated lists ids that were known and received a state (equal content included), in
	// update order.
	Updated []ClientID
	// Removed lists known ids whose entry was a null, or whose state was removed, in order.
	Removed []ClientID
	// Update is the awareness update to send to every connection of the document, the sender
	// included (it keeps the sender's watchdog fed): Added, then Updated, then Removed, each id
	// once, with its current clock and state (`null` when removed). It is nil when nothing
	// was applied. It belongs to the caller and is never modified by the State.
	Update []byte
}

// Empty reports whether nothing was applied.
func (c Change) Empty() bool { return len(c.Added)+len(c.Updated)+len(c.Removed) == 0 }

// New returns an empty State. It fails only if an Options field is negative.
func New[O comparable](opts Options) (*State[O], error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &State[O]{
		opts:    o,
		clients: make(map[ClientID]*client[O]),
		owners:  make(map[O]map[ClientID]struct{}),
	}, nil
}

// Len returns the number of clients that currently have a state.
func (s *State[O]) Len() int {
	n := 0
	for _, c := range s.clients {
		if c.json != nil {
			n++
		}
	}
	return n
}

// Lookup returns what the State knows about id. The bool is false for an id never seen, or
// forgotten after its removal.
func (s *State[O]) Lookup(id ClientID) (Meta, bool) {
	c, ok := s.clients[id]
	if !ok {
		return Meta{}, false
	}
	return Meta{Clock: c.clock, JSON: c.json, LastUpdated: c.lastUpdated}, true
}

// ClientIDs returns every tracked id in ascending order, those without a state included.
func (s *State[O]) ClientIDs() []ClientID {
	ids := make([]ClientID, 0, len(s.clients))
	for id := range s.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// OwnerOf returns the owner id's current state was announced by. The bool is false when id
// has no state.
func (s *State[O]) OwnerOf(id ClientID) (O, bool) {
	c, ok := s.clients[id]
	if !ok || !c.owned {
		var zero O
		return zero, false
	}
	return c.owner, true
}

// Owned returns the ids with a state attributed to owner, in ascending order.
func (s *State[O]) Owned(owner O) []ClientID {
	set := s.owners[owner]
	ids := make([]ClientID, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// EncodeUpdate encodes the current clock and state (`null` if none) of each given id, in the
// given order, as y-protocols' encodeAwarenessUpdate does. Ids the State does not track are
// left out, so the result may hold fewer entries than ids, or none (the update `00`, which a
// y-websocket peer accepts as a no-op).
func (s *State[O]) EncodeUpdate(ids ...ClientID) []byte {
	var e lib0.Encoder
	known := 0
	for _, id := range ids {
		if _, ok := s.clients[id]; ok {
			known++
		}
	}
	e.WriteVarUint(uint64(known))
	for _, id := range ids {
		if c, ok := s.clients[id]; ok {
			writeEntry(&e, id, c.clock, c.json)
		}
	}
	return e.Bytes()
}

// EncodeAll encodes every client that has a state, in ascending id order: what a server
// sends a newly connected peer (or answers a query-awareness with). It returns nil when no
// client has a state; the reference server then sends nothing.
func (s *State[O]) EncodeAll() []byte {
	var ids []ClientID
	for id, c := range s.clients {
		if c.json != nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	return s.EncodeUpdate(ids...)
}

// RemoveStates removes the states of the given ids, as y-protocols' removeAwarenessStates
// does for remote clients: the clock is kept (never bumped), so the removal encodes as `null`
// at the retained clock, which peers holding the state accept through the equal-clock rule.
// Ids without a state are skipped. The Change lists the removed ids in the given order.
func (s *State[O]) RemoveStates(ids []ClientID, now time.Time) Change {
	var removed []ClientID
	for _, id := range ids {
		c, ok := s.clients[id]
		if !ok || c.json == nil {
			continue
		}
		s.removeState(id, c, now)
		removed = append(removed, id)
	}
	return s.change(nil, nil, removed)
}

// RemoveOwner removes every state attributed to owner (call it when the owner's connection
// closes) and forgets the owner. The Change lists the removed ids in ascending order.
func (s *State[O]) RemoveOwner(owner O, now time.Time) Change {
	ids := s.Owned(owner)
	ch := s.RemoveStates(ids, now)
	delete(s.owners, owner)
	return ch
}

// Expire removes the states that no applied entry has renewed for Options.Timeout or longer
// before now (y-protocols' outdatedTimeout check; call it every few seconds), and forgets ids
// without a state whose last change is that old. The Change lists the removed ids in ascending
// order. A now earlier than a state's last update expires nothing.
func (s *State[O]) Expire(now time.Time) Change {
	var removed []ClientID
	for id, c := range s.clients {
		if now.Sub(c.lastUpdated) < s.opts.Timeout {
			continue
		}
		if c.json == nil {
			delete(s.clients, id)
			continue
		}
		removed = append(removed, id)
	}
	slices.Sort(removed)
	for _, id := range removed {
		s.removeState(id, s.clients[id], now)
	}
	return s.change(nil, nil, removed)
}

// removeState drops c's state and detaches it from its owner. The clock is kept; lastUpdated
// becomes now, so the clock is remembered for a full Timeout after the removal (late echoes of
// the old state are then still ignored).
func (s *State[O]) removeState(id ClientID, c *client[O], now time.Time) {
	c.json = nil
	c.lastUpdated = now
	s.detach(id, c)
}

// attach attributes id (which has a state) to owner, taking it away from any previous owner.
func (s *State[O]) attach(id ClientID, c *client[O], owner O) {
	if c.owned && c.owner == owner {
		return
	}
	s.detach(id, c)
	c.owner, c.owned = owner, true
	set := s.owners[owner]
	if set == nil {
		set = make(map[ClientID]struct{})
		s.owners[owner] = set
	}
	set[id] = struct{}{}
}

// detach removes id from its owner, if any.
func (s *State[O]) detach(id ClientID, c *client[O]) {
	if !c.owned {
		return
	}
	if set := s.owners[c.owner]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(s.owners, c.owner)
		}
	}
	var zero O
	c.owner, c.owned = zero, false
}

// change builds a Change and its broadcast update (each id once, first occurrence kept).
func (s *State[O]) change(added, updated, removed []ClientID) Change {
	ch := Change{Added: added, Updated: updated, Removed: removed}
	if ch.Empty() {
		return ch
	}
	ids := make([]ClientID, 0, len(added)+len(updated)+len(removed))
	seen := make(map[ClientID]struct{}, cap(ids))
	for _, list := range [][]ClientID{added, updated, removed} {
		for _, id := range list {
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				ids = append(ids, id)
			}
		}
	}
	ch.Update = s.EncodeUpdate(ids...)
	return ch
}

// cloneJSON copies a state out of the caller's buffer.
func cloneJSON(b []byte) []byte { return bytes.Clone(b) }
