// Package crdt is a pure Go implementation of the Yjs 13 document model: it decodes, integrates
// and encodes Yjs updates (v1 and v2), keeps state vectors and delete sets, and reads and edits
// the shared types Text, Map, Array and the XML types, so that a Go peer converges with Yjs
// clients byte for byte where Yjs is deterministic.
//
// # Model
//
// A Doc holds a struct store: per client id, the structs that client created, sorted by clock
// and contiguous from clock 0. A struct is an Item (content plus its YATA position: origin,
// rightOrigin, parent and, for map entries, parentSub) or a GC (a garbage-collected range).
// Items of one type form a doubly linked list (or, per map key, a chain whose last item is the
// value). Applying an update reads it whole, then integrates its structs in Yjs's order; structs
// whose dependencies are missing wait as a pending v2 update, delete ranges for unknown clocks
// as a pending delete set, and both are retried as later updates arrive. Every change happens
// inside a Transaction; at its end deleted content is garbage-collected (unless
// Options.DisableGC), adjacent structs are merged as Yjs merges them, and the transaction's
// update (its own new structs plus its delete set) is passed to OnUpdate handlers. Names follow
// Yjs (item, origin, rightOrigin, parentSub, struct store, delete set, getMissing, integrate,
// splitItem, mergeWith) so that the code reads beside the Yjs sources.
//
// # Memory
//
// An item takes 112 bytes; the fields few items need (a map key, an unresolved parent) sit
// behind one pointer. String content is a single pointer to the item's code units (ASCII text
// one byte per unit, other text UTF-16), so it needs no allocation of its own; runs that merge
// append into spare room the run owns, so sequential typing is amortised O(1) per character.
// Deleted content stores nothing. Transactions, their delete set, the update encoder and the
// decoding scratch of ApplyUpdate are reused from one call to the next. A document loaded from
// the automerge-paper trace's state holds about 4.7 times the state's encoded size.
//
// # Concurrency
//
// A Doc is not safe for concurrent use: its owner serializes all calls (one goroutine per
// document). The package starts no goroutines and does no I/O.
//
// # Caveats
//
//   - Roots are untyped until Doc.Text, Doc.Map, … is called; reading a root fixes its type.
//     Doc.ToJSON infers the type of untyped roots from their content.
//   - Formatting cleanup after remote transactions (Yjs's cleanupYTextAfterTransaction) is never
//     performed: a Doc authors nothing on remote updates. A Yjs document holding a typed or
//     nested Y.Text with formatting may therefore delete redundant format items that a Doc keeps;
//     content is the same, encoded bytes may differ.
//   - Search markers are not implemented: local text and list edits walk the list from the
//     position of the previous edit (a single cached position per type), or from its start once
//     the type has ever held formatting. The one visible difference from Yjs is described in
//     the spec (§3.8.6).
//   - Pending structs are retried whenever Yjs retries them (same missing clocks, SPEC
//     §3.1.5), plus in one case Yjs misses: when structs that just went pending and structs
//     already pending wait for each other (each arrived before the other), Yjs may not retry
//     and can stay pending for ever; a Doc also retries when the pending update holds the next
//     struct of some client. After such an extra retry the Doc keeps Yjs's missing clocks too,
//     so it never integrates later than Yjs; it may integrate earlier. Until the update that
//     makes Yjs retry arrives (or for ever, if none does), a Yjs document that received the
//     same updates in the same order then holds fewer structs than the Doc: its state vector
//     is behind, its content lacks the structs it keeps pending. The golden vectors' pending
//     steps are unaffected.
//   - A pending update is merged with each new one through MergeUpdatesV2. Should that merge
//     ever fail (it should not: the Doc wrote both), the new update is kept beside the pending
//     one rather than dropped: it is encoded with the state and integrated on the next retry.
//   - Subdocuments are kept as SubDoc values (guid and options); they are never loaded.
//   - Decoding is stricter than Yjs where Yjs accepts input it never writes (SPEC §1.5 and
//     §1.6). In addition, a v2 update whose Embed or Format value has no JSON text (undefined
//     as the value itself, or a BigInt anywhere in it) is refused whole: v1 writes these values
//     as JSON text, and Yjs accepts such an update but then throws when it encodes its state.
//   - Yjs's UndoManager bookkeeping (keep, redone) is not implemented.
package crdt
