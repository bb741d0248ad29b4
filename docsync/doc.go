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
// Options' zero value works (an in-memory store, default limits). To embed Tandem in an
// application, mount the Server in the application's mux, under a prefix with http.StripPrefix
// or Options.Prefix (see Example):
//
//	mux.Handle("/collab/", http.StripPrefix("/collab", srv))
//
// Go code reaches documents through the same actors as peers, so open sockets see every change:
// Edit (a crdt transaction), ApplyUpdate (a v1 update), both returning once the change is
// durable and broadcast; Read (run a function on the Doc), ReadJSON, ReadText, EncodeState (a
// step 2 for a state vector); Loaded lists the documents in memory; SetAccess and Revoke change
// the rights of open connections. WithPrincipal names the author of server-side edits.
//
// # Authentication and permissions
//
// Options.Authenticate maps a request (token from TokenFromRequest: ?token=, a Bearer header
// or a cookie) to a Grant: a principal and an Access, read-write, read-only or denied. It runs
// before the upgrade, outside every actor, bounded by Options.AuthorizeTimeout, and again every
// Options.Reauthenticate while a socket is open. Plain HTTP requests are refused with 401/403.
// WebSocket upgrades are accepted, sent the y-protocols auth message with the reason, then
// closed with 4401/4403 (SPEC decision 6): an HTTP 401/403 reaches the y-websocket provider as
// close 1006 and it retries forever, while 4400–4499 makes it stop. A browser Origin outside
// Options.AllowedOrigins is refused the same way (4403).
//
// Read-only peers receive everything, may send sync step 1 (to sync), and may send awareness,
// so their presence (cursor, name) shows to others. Every update they send, in a step 2 or an
// update message, is dropped: never applied, stored or forwarded, and counted in
// tandem_updates_refused_total{reason="read_only"}. They stay connected; their own client
// keeps its local edits, which reach the server if they are later granted read-write (their
// next step 2, after a reconnect, carries them). On the HTTP API they may GET but not POST.
//
// Server.SetAccess changes the access of a principal's open connections at once (downgrade to
// read-only without reconnecting, or upgrade); Server.Revoke (AccessDenied) closes them with
// 4403, which the provider does not retry. Re-authentication applies the hook's new answer the
// same way (a refusal closes with 4401/4403).
//
// # Hooks
//
// Options.Hooks: OnConnect, OnDisconnect, OnUpdate (after the update is durable and
// broadcast, with its principal and sequence number), OnLoad, OnUnload. They never run on an
// actor: events go through one bounded queue (Options.HookQueueLen) that drops and counts
// (tandem_hook_events_dropped_total) rather than block, and each call runs on its own
// goroutine with a timeout (Options.HookTimeout), after which the dispatcher moves on. A slow
// or failing hook delays or drops hook events, never documents.
//
// # Protection
//
// Every limit is an Options field; CloseTable lists the close codes. Messages above
// MaxMessageBytes close with 4413; awareness states above MaxAwarenessStateBytes or too many
// awareness clients with 4413; a document that would pass MaxDocumentBytes refuses the update
// and closes its sender with 4413 ("document too large"; server-side edits get ErrTooLarge,
// HTTP 413). MaxMessageRate and MaxByteRate are per-connection token buckets: a peer over them
// is paced (the server stops reading from it; TCP pushes back), and one paced for more than
// MaxThrottle in a row is closed with 1013, retry later, since an honest client that pasted a
// lot should come back. MaxConnections and MaxConnectionsPerDoc refuse with 1013 too (the
// provider backs off exponentially, up to its maxBackoffTime).
//
// # Observability
//
// /metrics serves Prometheus metrics (github.com/prometheus/client_golang) from
// Options.Registry (nil: a registry of the server's own, with Go runtime and process metrics):
// tandem_documents_loaded, tandem_connections, tandem_messages_received_total,
// tandem_received_bytes_total, tandem_messages_sent_total, tandem_sent_bytes_total,
// tandem_updates_appended_total, tandem_updates_durable_total, tandem_updates_refused_total,
// tandem_append_duration_seconds (commit and fsync latency), tandem_actor_inbox_depth_max and
// _total, tandem_slow_peer_closes_total, tandem_closes_total{code,reason},
// tandem_connections_refused_total{reason}, tandem_throttled_total and the hook counters. No
// label carries a document name or principal. Logs are structured (log/slog, Options.Logger)
// and never include content, awareness states or tokens.
//
// A stock y-websocket client connects with
//
//	new WebsocketProvider('ws://ADDR/sync', 'my-doc', ydoc)
//
// Routes served by Server.ServeHTTP:
//
//	/sync/<doc>                 WebSocket, y-websocket protocol (sync, awareness, auth)
//	/healthz                    200 "ok", 503 while shutting down
//	/metrics                    Prometheus text format (Options.DisableMetricsRoute turns it off)
//	GET  /api/docs              stored documents (JSON)
//	GET  /api/docs/<doc>        the document's content as JSON; ?root=R: one root;
//	                            ?root=R&format=text: its text as text/plain
//	GET  /api/docs/<doc>/update the state as a binary v1 update; ?sv=<base64url state vector>
//	POST /api/docs/<doc>/update apply a binary v1 update; 204 once durable and broadcast
//	GET  /api/docs/<doc>/history the op log as JSON (?from=&to=); ?at=<seq> the content then
//
// Every /api route goes through the same authentication as the WebSocket (401/403); POST needs
// read-write access.
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
// effects. Connections (conn.go) have one reader goroutine and a writer goroutine that runs
// while frames wait (and some tens of milliseconds after, so that a busy peer keeps it); the
// reader forwards frames to the actor's inbox, the actor hands frames to the connection's
// bounded queue (which starts the writer) and never blocks on it. Writes carry no socket
// deadline: the connection's one runtime timer closes a peer whose writes make no progress
// for Options.WriteTimeout, and also sends pings and keep-alives. A quiet reader does not
// wait in gorilla's NextReader: on Linux it parks the connection in an epoll set of the
// server's (idlePoller; one goroutine waits for all of them and starts a reader for each
// connection that has input), on macOS and the BSDs it waits on a fresh goroutine of the
// smallest stack size (readLoop); over TLS it waits in NextReader. On Linux an idle
// connection then costs no goroutine and about 3.5 KB of heap and stack
// (BenchmarkServer_IdleConnMemory), and with a document of its own about 11 KB
// (BenchmarkServer_IdleDocMemory). A parked reader's read deadline is enforced by the
// connection's timer, which resumes it when the deadline passes.
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
// answers each sync step 1 with a step 2 computed from the in-memory document; when appends
// are in flight, that step 2 is held until every one of them is acknowledged. So an update
// reaches another peer (broadcast or step 2) only after it is durable. Awareness updates are applied with
// y-protocols' rules and broadcast to every peer, the sender included; a peer may change only
// the client ids it announced, and its states are removed (and the removal broadcast) when it
// disconnects. A peer that received nothing for Options.KeepAliveInterval gets an empty
// awareness update (01 01 00), which keeps the y-websocket watchdog from reconnecting.
//
// # Close codes
//
// Every close the server initiates uses a CloseReason; CloseTable lists them with their codes.
// 4400–4499 are permanent refusals (the y-websocket provider stops reconnecting); 1001, 1011
// and 1013 make it reconnect and resync. 1013 has several causes (slow peer, rate limit,
// connection limit); the close frame's reason text names it. Refusals (Options.Authenticate,
// origins) accept the upgrade, send the y-protocols auth message with the reason, then close
// with 4401 or 4403, since an HTTP 401/403 makes the provider retry forever.
//
// # Seams
//
// The actor's outputs sit behind two small interfaces: Store (durable append) and the unexported
// sink (a peer's outgoing queue); its inputs are inbox messages (peer frames, server-side edits).
// A multi-node relay would be one more sink per document plus a source of server-side edits.
//
// # Concurrency
//
// Server's methods are safe for concurrent use. Document state (including each peer's access)
// is touched only by its actor goroutine; the map of open documents and the connection counts
// are guarded by the one mutex in Server. Authentication runs on the request's goroutine, and
// re-authentication on one goroutine per connection that the connection waits for. Hooks run
// on the dispatcher goroutine and one goroutine per call; Shutdown delivers the queued events
// before returning, Close drops them. The HTTP handler sets a connection up (upgrade, join),
// then hands it to a goroutine of its own that runs the reader and waits, at the end, for the
// writer; the writer runs on a goroutine started on demand, at most one at a time. A
// connection's queue is guarded by its own mutex. Shutdown and Close wait for every actor and
// connection goroutine.
//
// # Caveats
//
//   - Server-side reads (Read, ReadJSON, ReadText, EncodeState and the HTTP GET routes) see the
//     in-memory document, which may hold updates whose fsync is still running.
//   - A peer whose send queue fills (Options.SendQueueBytes, or SendQueueLen frames) is closed
//     with 1013 rather than slowing the document; when its writer falls behind, it takes the
//     whole backlog at once and merges the queued updates (crdt.MergeUpdates) into few frames,
//     in runs of at most 128 that end at the same frames for every peer, so peers lagging behind
//     the same updates share one merge (a bounded memo keyed by the frames' identity).
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
//   - The document size limit is checked against an estimate: the stored bytes at load plus
//     every update since, re-measured with a full encode when the estimate reaches the limit.
//     An update is refused only if the measured size plus the update passes it.
//   - An Edit cannot be rolled back: a panic in its function fails the document (peers get
//     1011 and it reloads from the store, without the edit).
//   - A hook call that ignores its ctx keeps running on its own goroutine after the timeout.
//   - A read-only client's refused edits stay in its own Y.Doc; the server does not tell it.
package docsync
