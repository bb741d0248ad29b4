// Package awareness keeps the awareness (presence) states of one document on a y-websocket
// server and speaks their wire format: y-protocols' awareness protocol (yjs/y-protocols:
// awareness.js; SPEC §4.3).
//
// # Model
//
// A State maps Yjs client ids to a clock, a JSON state and the time of the last applied entry,
// like y-protocols' Awareness with no state of its own. ApplyUpdate applies an update received
// from a peer with y-protocols' rule: an entry wins if its clock is newer than the recorded one
// (0 for an unknown id), or if it has the same clock, a null state, and the id currently holds
// a state. A non-null state is stored as the JSON text received (validated, never re-encoded)
// and re-sent verbatim; a null removes it but keeps the clock. Each call returns a Change: the
// ids y-protocols' `update` event would list (added, updated, removed) and the update to
// broadcast to every connection of the document, the sender included.
//
// Every id holding a state belongs to the owner (an opaque comparable key, typically a
// connection) whose update gave it that state. Another owner cannot change it (*OwnerError)
// unless Options.AllowTakeover is set; an applied null detaches it. RemoveOwner removes what
// an owner still holds when its connection closes, and Expire removes states not renewed
// within Options.Timeout (30 s). Removals are broadcast as null at the retained clock: the
// server never invents or bumps another client's clock.
//
// The wire format is varUint(n) then n × (varUint clientID, varUint clock, varString JSON).
// y-websocket frames an update as `01` + varUint8Array(update); framing is the caller's job.
//
// # Concurrency
//
// A State is not safe for concurrent use: the document actor that owns it serializes calls.
// The package starts no goroutines and reads no clock: every call that needs the time takes
// now from the caller, who must pass non-decreasing times (time.Now() is fine).
//
// # Caveats
//
//   - The server has no client id and no local state, so y-protocols' rules for the local id
//     (a remote null bumps the clock, periodic self-renewal) do not apply. The golden vectors'
//     clock table holds "0" for the reference server's own id; this State has no such entry.
//   - Unlike y-protocols, which keeps every clock forever, Expire forgets an id without a
//     state once Options.Timeout has passed since its last change, so hostile ids cannot
//     grow the table without bound. A client that returns after that is added again.
//   - Any peer may record a clock for an id that holds no state (a null entry), as in
//     y-protocols. A hostile peer can thus make a departed id's next announcements stale until
//     that clock is forgotten.
//   - Decoding is stricter than y-protocols in one way: bytes after the last entry are an
//     error. Everything y-protocols writes decodes.
//   - The Change does not carry y-protocols' `change` event (updated filtered by deep
//     equality); a server has no use for it.
package awareness
