package docsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// Errors returned by Server methods and mapped to HTTP statuses by its API.
var (
	// ErrClosed is returned after Shutdown or Close has begun.
	ErrClosed = errors.New("docsync: server closed")
	// ErrUnavailable is returned when a document cannot be loaded (storage error or corrupt
	// data); the cause is wrapped.
	ErrUnavailable = errors.New("docsync: document unavailable")
	// ErrBadUpdate is returned for an update or state vector that does not decode; the
	// document is unchanged.
	ErrBadUpdate = errors.New("docsync: malformed update")
	// ErrInvalidName is returned for a document name outside the allowed set (see ValidName).
	ErrInvalidName = errors.New("docsync: invalid document name")
	// ErrUnauthenticated is what an AuthorizeFunc wraps to refuse a request for lack of
	// credentials (close code 4401, HTTP 401).
	ErrUnauthenticated = errors.New("docsync: unauthenticated")
	// ErrForbidden is the default refusal of an AuthorizeFunc (close code 4403, HTTP 403).
	ErrForbidden = errors.New("docsync: forbidden")
	// ErrTooLarge is returned for a server-side edit that would make the document larger
	// than Options.MaxDocumentBytes (HTTP 413); the document is unchanged.
	ErrTooLarge = errors.New("docsync: document too large")
	// ErrNoRoot is returned by ReadText for a root that does not exist or holds no text.
	ErrNoRoot = errors.New("docsync: no such text root")
)

// MaxNameLen is the longest document name, in bytes.
const MaxNameLen = 128

// ValidName reports whether name may name a document: 1 to MaxNameLen bytes from
// [A-Za-z0-9._~-] (the URL path characters that need no escaping), and neither "." nor "..".
// The name is taken from the request path after percent-decoding, so "/sync/my%2Ddoc" is
// the document "my-doc", and "/sync/a%2Fb" is refused.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '~', c == '-':
		default:
			return false
		}
	}
	return true
}

// Server is Tandem's real-time sync server: an http.Handler serving the y-websocket protocol
// at /sync/<doc>, a health check at /healthz and the HTTP API at /api/docs (see doc.go). Create
// it with New; it is safe for concurrent use.
type Server struct {
	opts     Options
	store    Store
	ownStore *persistence.MemoryStore // created by New when Options.Store is nil
	log      *slog.Logger
	upgrader websocket.Upgrader
	// merges shares the writers' merges of lagging peers' backlogs.
	merges *mergeMemo
	// linger is the clock lingering writers wait on.
	linger *lingerClock
	// poller parks quiet connections' readers; it starts with the first connection that
	// goes quiet (idlePoller). Nil: not yet, or not available (readers wait on goroutines).
	poller      atomic.Pointer[idlePoller]
	pollMu      sync.Mutex
	pollerTried bool // guarded by pollMu

	// ctx is the parent of every actor's context; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// stopping is closed when Shutdown or Close begins.
	stopping chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex // guards docs, closed and the connection counts; the only mutex around document lookup
	docs     map[string]*actor
	closed   bool
	nconns   int            // open WebSockets counted by acquireConn
	docConns map[string]int // the same, per document

	hooks   *hookQueue
	metrics *metrics
	actors  sync.WaitGroup // one per actor goroutine
	conns   sync.WaitGroup // one per WebSocket handler
}

// New returns a Server configured by opts (zero fields take their defaults). It fails only for
// invalid options (negative sizes or durations).
func New(opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Server{
		opts:     opts,
		store:    opts.Store,
		log:      opts.Logger,
		docs:     map[string]*actor{},
		docConns: map[string]int{},
		stopping: make(chan struct{}),
		merges:   newMergeMemo(),
		linger:   newLingerClock(),
	}
	m, err := newMetrics(s, opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("docsync: registering metrics: %w", err)
	}
	s.metrics = m
	if s.store == nil {
		s.ownStore = persistence.NewMemoryStore()
		s.store = s.ownStore
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.hooks = newHookQueue(s)
	s.upgrader = websocket.Upgrader{
		// Zero: read through the small buffer smallReader's Hijack hands over. With write
		// buffers taken from a pool only while a message is written, this keeps an idle
		// connection's memory low; larger messages take more reads.
		ReadBufferSize:  0,
		WriteBufferSize: 4 << 10,
		WriteBufferPool: &sync.Pool{},
		// The origin is checked by serveSync, which refuses after the upgrade with 4403 so
		// that the provider stops retrying (SPEC decision 6).
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s, nil
}

// ServeHTTP routes /sync/<doc>, /healthz, /metrics and /api/docs…, under Options.Prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if s.opts.Prefix != "" {
		rest, ok := strings.CutPrefix(p, s.opts.Prefix)
		if !ok || (rest != "" && rest[0] != '/') {
			http.NotFound(w, r)
			return
		}
		p = rest
	}
	switch {
	case p == "/metrics" && !s.opts.DisableMetricsRoute:
		s.MetricsHandler().ServeHTTP(w, r)
	case p == "/healthz":
		s.serveHealth(w, r)
	case strings.HasPrefix(p, "/sync/"):
		s.serveSync(w, r, strings.TrimPrefix(p, "/sync/"))
	case p == "/api/docs" || strings.HasPrefix(p, "/api/docs/"):
		s.serveAPI(w, r, strings.TrimPrefix(strings.TrimPrefix(p, "/api/docs"), "/"))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if closed {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("shutting down\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// actorFor returns the actor of name, starting one (which loads the document) if none runs.
func (s *Server) actorFor(name string) (*actor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if a := s.docs[name]; a != nil {
		return a, nil
	}
	a := newActor(s, name)
	s.docs[name] = a
	s.actors.Add(1)
	// The actor stops by itself after its idle timeout, on Shutdown (stopping) or Close
	// (s.ctx); Shutdown and Close wait for it through s.actors.
	go a.run(s.ctx)
	return a, nil
}

// unregister removes a from the registry so that no new caller finds it. Unless force is set
// it refuses (returns false) while a's inbox holds messages, so an idle actor does not exit
// under a joiner that already found it.
func (s *Server) unregister(a *actor, force bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !force && len(a.inbox) > 0 {
		return false
	}
	if s.docs[a.name] == a {
		delete(s.docs, a.name)
	}
	return true
}

// Loaded returns the names of the documents currently held in memory, sorted.
func (s *Server) Loaded() []string {
	s.mu.Lock()
	names := make([]string, 0, len(s.docs))
	for n := range s.docs {
		names = append(names, n)
	}
	s.mu.Unlock()
	slices.Sort(names)
	return names
}

// maxRetries bounds how often a request is re-sent to a newly started actor after the one it
// found exited (idle unload or failure) before handling it.
const maxRetries = 5

// call sends a request to the actor of doc, retrying with a fresh actor if one exits first.
func (s *Server) call(ctx context.Context, doc string, mk func(reply chan error) any) error {
	if !ValidName(doc) {
		return ErrInvalidName
	}
	for attempt := 0; ; attempt++ {
		a, err := s.actorFor(doc)
		if err != nil {
			return err
		}
		reply := make(chan error, 1)
		err = a.call(ctx, mk(reply), reply)
		if errors.Is(err, errActorGone) && attempt < maxRetries {
			continue
		}
		if errors.Is(err, errActorGone) {
			return ErrUnavailable
		}
		return err
	}
}

// ApplyUpdate applies a v1 update to doc as a server-side edit, loading the document if it is
// not open. It returns once the update is durable and has been sent to every peer, or with
// ErrBadUpdate or ErrTooLarge (the document is unchanged). If ctx ends first the update may
// still be applied. The update is recorded as PrincipalFrom(ctx).
func (s *Server) ApplyUpdate(ctx context.Context, doc string, update []byte) error {
	return s.call(ctx, doc, func(reply chan error) any {
		return applyMsg{user: PrincipalFrom(ctx), update: update, reply: reply}
	})
}

// EncodeState returns doc's state as a v1 update holding what a peer with state vector sv
// (nil: an empty document) lacks, like a sync step 2.
func (s *Server) EncodeState(ctx context.Context, doc string, sv []byte) ([]byte, error) {
	var out []byte
	err := s.call(ctx, doc, func(reply chan error) any {
		return readMsg{reply: reply, fn: func(d *crdt.Doc) error {
			if len(sv) > 0 {
				if _, err := crdt.DecodeStateVector(sv); err != nil {
					return errors.Join(ErrBadUpdate, err)
				}
			}
			var err error
			out, err = d.EncodeStateAsUpdate(sv)
			if err != nil {
				return errors.Join(ErrBadUpdate, err)
			}
			return nil
		}}
	})
	return out, err
}

// Read runs fn with doc's crdt.Doc on the document's actor, loading the document if needed. fn
// must only read the Doc and must not keep it or anything from it after returning.
func (s *Server) Read(ctx context.Context, doc string, fn func(d *crdt.Doc) error) error {
	return s.call(ctx, doc, func(reply chan error) any {
		return readMsg{reply: reply, fn: fn}
	})
}

// beginClose marks the server closed (refusing new documents and connections) and signals
// every actor; it reports whether this call did it.
func (s *Server) beginClose() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stopping)
	})
}

// Shutdown stops the server gracefully: it refuses new connections and documents, closes every
// peer with 1001 (going away), waits until every accepted update is durable and every actor
// has exited, then waits for the connections to finish their close handshake. If ctx ends
// first, it falls back to Close and returns ctx's error. It does not close Options.Store: the
// caller does that afterwards (a store New created itself is closed).
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginClose()
	if err := waitCtx(ctx, &s.actors); err != nil {
		s.Close()
		return err
	}
	if err := waitCtx(ctx, &s.conns); err != nil {
		s.Close()
		return err
	}
	// Deliver the hook events queued so far, then stop the dispatcher.
	s.hooks.stop()
	select {
	case <-s.hooks.done:
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
	s.cancel()
	s.stopPoller()
	return s.closeOwnStore()
}

// idlePoller returns the server's idle poller, starting it on first use; nil if it is not
// available or the server is closing.
func (s *Server) idlePoller() *idlePoller {
	if p := s.poller.Load(); p != nil {
		return p
	}
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	if !s.pollerTried {
		s.pollerTried = true
		if p := newIdlePoller(); p != nil {
			s.poller.Store(p)
		}
	}
	return s.poller.Load()
}

// stopPoller stops the idle poller, once every connection has ended.
func (s *Server) stopPoller() {
	s.pollMu.Lock()
	s.pollerTried = true // no poller starts after this
	p := s.poller.Load()
	s.pollMu.Unlock()
	if p != nil {
		p.stop()
	}
}

// Close stops the server at once: peers are closed with 1001 without waiting for pending
// appends to be acknowledged (the store still commits what it was handed when it is closed),
// then Close waits for every actor and connection goroutine to exit.
func (s *Server) Close() error {
	s.beginClose()
	s.cancel()
	s.actors.Wait()
	s.conns.Wait()
	s.hooks.stop()
	<-s.hooks.done
	s.stopPoller()
	return s.closeOwnStore()
}

func (s *Server) closeOwnStore() error {
	if s.ownStore != nil {
		return s.ownStore.Close()
	}
	return nil
}

// waitCtx waits for wg or ctx.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	// This goroutine ends when wg does; the waiter stops caring when ctx ends.
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
