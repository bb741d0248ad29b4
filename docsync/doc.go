// Package docsync is Tandem's real-time sync server: a Yjs-compatible y-websocket endpoint with
// durable, ordered persistence, plus a small HTTP API.
//
// # Use
//
//	srv, err := docsync.New(docsync.Options{Store: store}) // store: *persistence.Store
//	if err != nil { … }
//	httpSrv := &http.Server{Addr: addr, Handler: srv}
//	go httpSrv.ListenAndServe()
//	…
//	httpSrv.Shutdown(ctx) // stops accepting; does not touch WebSockets
//	srv.Shutdown(ctx)     // refuse joins, close peers with 1001, flush, wait for actors
//	store.Close()
//
// Options' zero value works (an in-memory store, default limits). Go code reaches documents
// through the same actors as peers: ApplyUpdate (a server-side edit, returns once durable and
// broadcast), EncodeState (a step 2 for a state vector), Read (run a function on the Doc);
// Loaded lists the documents in memory.
//
// A stock y-websocket client connects with
//
//	new WebsocketProvider('ws://ADDR/sync', 'my-doc', ydoc)
//
// Routes served by Server.ServeHTTP:
//
//	/sync/<doc>                 WebSocket, y-websocket protocol (sync, awareness, auth)
//	/healthz                    200 "ok", 503 while shutting down
//	GET  /api/docs              stored documents (JSON)
//	GET  /api/docs/<doc>        the document's content as JSON
//	GET  /api/docs/<doc>/update the state as a binary v1 update; ?sv=<base64url state vector>
//	POST /api/docs/<doc>/update apply a binary v1 update; 204 once durable and broadcast
//	GET  /api/docs/<doc>/history the op log as JSON (?from=&to=); ?at=<seq> the content then
//
// Document names are 1–128 bytes of [A-Za-z0-9._~-] (see ValidName), taken from the request
// path after percent-decoding; anything else is answered with HTTP 400 before any upgrade.
//
// # Model
//
// Each open document is owned by one actor goroutine. The actor has a synchronous core (core.go)
// that holds the crdt.Doc, the awareness states and the set of peers; it takes one input at a
// time (a frame from a peer, a peer joining or leaving, a server-side edit, a storage
// acknowledgement, a timer tick) and returns effects: frames for peers, records to append,
// closes, replies. A thin run loop (actor.go) feeds it from a bounded inbox and executes the
// effects. Connections (conn.go) have one reader and one writer goroutine; the reader forwards
// frames to the actor's inbox, the actor hands frames to the writer's bounded queue and never
// blocks on it.
//
// The actor starts when a document is first needed and loads it from the store before it
// reads its inbox, so no peer is answered from an unloaded document. It exits after
// Options.IdleTimeout without peers (and with every append acknowledged), releasing the
// document's memory; the next join loads it again.
//
// Ordering contract, for each update a peer sends (sync step 2 or update):
//
//  1. decode the frame; a malformed frame closes that peer with 4400;
//  2. integrate it (crdt ApplyUpdate, whole or nothing); an update that changes nothing and
//     leaves nothing pending stops here (nothing is stored or sent);
//  3. append it to the store (Store.Append); the actor goes on integrating later updates while
//     the store commits and fsyncs;
//  4. when the store acknowledges this append and every earlier one, send the frame to every
//     other peer, encoded once and shared (an update frame is forwarded byte for byte), in
//     append order. Options.EchoUpdates also sends it back to its sender.
//
// Server-side edits (ApplyUpdate, POST /api/docs/<doc>/update) follow the same path and return
// after step 4. On connect the server sends its sync step 1 and all awareness states, and
// answers each sync step 1 with a step 2 computed from the in-memory document (which may hold
// updates still awaiting their acknowledgement). Awareness updates are applied with
// y-protocols' rules and broadcast to every peer, the sender included; a peer may change only
// the client ids it announced, and its states are removed (and the removal broadcast) when it
// disconnects. A peer that received nothing for Options.KeepAliveInterval gets an empty
// awareness update (01 01 00), which keeps the y-websocket watchdog from reconnecting.
//
// # Close codes
//
// Every close the server initiates uses a CloseReason; CloseTable lists them with their codes.
// 4400–4499 are permanent refusals (the y-websocket provider stops reconnecting); 1001, 1011
// and 1013 make it reconnect and resync. Refusals (Options.Authorize) accept the upgrade, send
// the y-protocols auth message with the reason, then close with 4401 or 4403, since an HTTP
// 401/403 makes the provider retry forever.
//
// # Seams
//
// The actor's outputs sit behind two small interfaces: Store (durable append) and the unexported
// sink (a peer's outgoing queue); its inputs are inbox messages (peer frames, server-side edits).
// A multi-node relay would be one more sink per document plus a source of server-side edits.
//
// # Concurrency
//
// Server's methods are safe for concurrent use. Document state is touched only by its actor
// goroutine; the map of open documents is guarded by the one mutex in Server. Each connection's
// reader runs on its HTTP handler goroutine and its writer on a goroutine the handler waits for.
// Shutdown and Close wait for every actor and connection goroutine.
//
// # Caveats
//
//   - Peers may receive, in a step 2, updates whose fsync is still running; a crash then loses
//     them from the server, but the peer that sent them resends them on its next sync.
//   - A peer whose send queue fills (Options.SendQueueLen / SendQueueBytes) is closed with 1013
//     rather than slowing the document; queued updates are merged (crdt.MergeUpdates) when its
//     writer falls behind.
//   - Messages above Options.MaxMessageBytes close with 4413, not gorilla's automatic 1009,
//     which would make y-websocket resend the same message forever; the limit is enforced
//     while reading instead of with SetReadLimit.
//   - Updates whose dependencies never arrive stay pending in the document (and in the log);
//     past Options.MaxPendingBytes the connection that adds more is closed with 4422.
//   - A storage failure closes every peer of the document with 1011 and drops the document from
//     memory; the next join reloads it from the store, and clients resend what it lacks.
//   - Only update format v1 is spoken on the wire, as y-websocket does.
//   - persistence.Record.Clients lists the clients whose state vector the update advanced; an
//     update that only went pending records none.
//   - Frames with trailing bytes after the message are refused (4400); the reference
//     implementations ignore them, but no stock client writes them.
package docsync
