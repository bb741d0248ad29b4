package docsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemsync/tandem/persistence"
)

// Store is the durable log a Server writes to. *persistence.Store and *persistence.MemoryStore
// implement it; a multi-node deployment would put its replication behind the same interface.
//
// Append must not block for long (it may block while the writer's bounded queue is full) and
// must call ack exactly once, after the record is durable or has failed; ack must not block and
// may run on any goroutine. Records of one document are acknowledged in the order appended.
type Store interface {
	Load(ctx context.Context, doc string) (*persistence.Loaded, error)
	Append(doc string, rec persistence.Record, ack func(seq uint64, err error))
	Docs(ctx context.Context) ([]persistence.DocInfo, error)
	History(ctx context.Context, doc string, fromSeq, toSeq uint64) ([]persistence.Record, error)
}

// AuthorizeFunc is the older form of AuthenticateFunc: it grants read-write access or
// refuses. It decides whether a WebSocket or HTTP API request may use doc. It runs on the
// request's goroutine before the document is joined, with ctx bounded by
// Options.AuthorizeTimeout. It returns the authenticated principal (recorded with every update
// the connection sends; "" is fine), or an error: errors wrapping ErrUnauthenticated close the
// WebSocket with 4401 (HTTP 401), every other error closes it with 4403 (HTTP 403). The error
// text is sent to the client as the y-protocols auth reason, so keep secrets out of it.
type AuthorizeFunc func(ctx context.Context, r *http.Request, doc string) (user string, err error)

// Options configures a Server. The zero value works: every zero field takes the default its
// comment names.
type Options struct {
	// Store is where updates are made durable. Nil: a new in-memory store
	// (persistence.NewMemoryStore), which loses everything at exit.
	Store Store
	// Logger receives lifecycle and protocol-violation logs. Nil: slog.Default().
	Logger *slog.Logger
	// Prefix is a path prefix the server's routes live under, e.g. "/collab" serves
	// /collab/sync/<doc> and /collab/api/docs. Requests outside it get 404. Empty: the routes
	// are at the root (use this with http.StripPrefix instead, if you prefer).
	Prefix string

	// Authenticate, if set, is consulted for every WebSocket and HTTP API request (see
	// AuthenticateFunc) and decides the principal and its Access. Nil: Authorize, if set;
	// otherwise everyone may read and write every document.
	Authenticate AuthenticateFunc
	// Authorize is the older, read-write-or-refuse hook, used only when Authenticate is nil.
	Authorize AuthorizeFunc
	// AuthorizeTimeout bounds each call of Authenticate or Authorize; a call that overruns
	// refuses the request (4403 / HTTP 403). Zero: 10 s.
	AuthorizeTimeout time.Duration
	// Reauthenticate, if positive, re-runs Authenticate (or Authorize) for every open
	// WebSocket at this interval: a refusal closes it with 4401/4403, a downgrade to
	// AccessReadOnly takes effect without reconnecting. Zero: never (use Server.Revoke and
	// Server.SetAccess for application events).
	Reauthenticate time.Duration
	// CheckOrigin decides whether a WebSocket upgrade from a browser origin is accepted; a
	// refused origin is closed with 4403 after the upgrade. Nil: AllowedOrigins decides.
	CheckOrigin func(r *http.Request) bool
	// AllowedOrigins lists the browser origins allowed to open WebSockets, as
	// "https://app.example.com", "https://*.example.com" or "*". Requests without an Origin
	// header (non-browser clients) and same-host origins are always allowed. Empty (and
	// CheckOrigin nil): every origin is accepted (y-websocket apps are commonly served from
	// another origin; then put the policy in Authenticate).
	AllowedOrigins []string

	// Hooks are called on connection, disconnection, durable updates and document
	// load/unload, outside every actor (see Hooks).
	Hooks Hooks
	// HookQueueLen is how many events may wait for the hook dispatcher; when it is full new
	// events are dropped and counted (tandem_hook_events_dropped_total). Zero: 4096.
	HookQueueLen int
	// HookTimeout bounds each hook call (its ctx ends then; the dispatcher moves on). Zero:
	// 5 s.
	HookTimeout time.Duration

	// Registry is where the server registers its Prometheus metrics, served at /metrics
	// (one Server per registry: New fails on duplicate registration). Nil: a new registry of
	// its own (with the Go runtime and process collectors).
	Registry *prometheus.Registry
	// DisableMetricsRoute stops ServeHTTP from serving /metrics (Server.MetricsHandler still
	// works, to mount it elsewhere).
	DisableMetricsRoute bool

	// IdleTimeout is how long a document stays loaded after its last peer leaves. Zero: 30 s.
	IdleTimeout time.Duration
	// MaxMessageBytes is the largest WebSocket message accepted from a peer (a step 2 can be
	// as large as the whole document). Larger messages close the connection with 4413. Zero:
	// 32 MiB.
	MaxMessageBytes int64
	// SendQueueLen is how many frames may wait for one peer's writer; a peer whose queue is
	// full is closed with 1013. The queue grows only as needed, and SendQueueBytes is meant
	// to be the bound that matters. Zero: 16384.
	SendQueueLen int
	// SendQueueBytes is how many bytes may wait for one peer's writer before it is closed with
	// 1013 (a single frame larger than that is sent when the queue is empty). Zero: 64 MiB.
	SendQueueBytes int64
	// InboxLen is the capacity of each document actor's inbox. Zero: 32.
	InboxLen int
	// MaxInflight is how many appended updates may await their durability acknowledgement per
	// document; past it the actor stops reading its inbox until acknowledgements return.
	// Zero: 1024.
	MaxInflight int
	// MaxPendingBytes caps the bytes of updates that leave a document with pending structs
	// (their dependencies have not arrived). The connection whose update passes it is closed
	// with 4422. Zero: 4 MiB.
	MaxPendingBytes int
	// MaxAwarenessStateBytes caps one client's awareness state (JSON text). Zero: 64 KiB.
	MaxAwarenessStateBytes int
	// MaxAwarenessClients caps how many awareness client ids one connection may own (a tab
	// relays its sibling tabs' ids). Zero: 64.
	MaxAwarenessClients int
	// AwarenessTimeout removes awareness states not renewed for this long. Zero: 30 s.
	AwarenessTimeout time.Duration
	// MaxMessageRate is how many messages per second one connection may send, on average
	// (token bucket, bursts up to twice as many). A peer over it is paced: the server pauses
	// reading from it (TCP pushes back). A peer kept paused for more than MaxThrottle in a
	// row is closed with 1013 (retry later). Zero: no limit.
	MaxMessageRate float64
	// MaxByteRate is how many message bytes per second one connection may send, on average
	// (token bucket, bursts up to twice as many; a single message larger than that is let
	// through and paid back afterwards). Enforced like MaxMessageRate. Zero: no limit.
	MaxByteRate float64
	// MaxThrottle is the longest the server paces a connection over its rates (summed over
	// consecutive messages) before closing it with 1013. Zero: 2 s.
	MaxThrottle time.Duration
	// MaxDocumentBytes caps a document's size (its encoded state plus the updates applied
	// since it was measured). An update that would pass it is refused and its sender closed
	// with 4413 (a server-side edit gets ErrTooLarge, HTTP 413). Zero: 256 MiB.
	MaxDocumentBytes int64
	// MaxConnections caps the open WebSockets of the server; MaxConnectionsPerDoc those of
	// one document. A connection over either is accepted and closed with 1013 (retry later).
	// Zero: no limit.
	MaxConnections       int
	MaxConnectionsPerDoc int

	// PingInterval is how often the server pings each peer. Zero: 30 s.
	PingInterval time.Duration
	// PongWait is how long a peer may stay silent (no message, no pong) before it is
	// considered dead. Zero: 2 × PingInterval.
	PongWait time.Duration
	// KeepAliveInterval: after this long without sending anything to a peer, the server sends
	// an empty awareness update (01 01 00) so that the y-websocket watchdog (30 s) stays
	// fed. Zero: 15 s. Negative: never.
	KeepAliveInterval time.Duration
	// WriteTimeout: a peer that takes no bytes for this long while frames wait for it is
	// dropped (its socket is closed; the connection's timer checks, so within about 1.5 ×
	// WriteTimeout). It also bounds pings and the close frame. Zero: 10 s.
	WriteTimeout time.Duration
	// EchoUpdates also sends each durable update back to the peer that sent it, as the
	// reference server does; y-websocket v14 reads that echo as "saved". Zero (false): the
	// sender is skipped.
	EchoUpdates bool
}

// errBadOptions reports a negative Options field.
var errBadOptions = errors.New("docsync: invalid options")

// validate rejects negative sizes and durations (KeepAliveInterval may be negative: never).
func (o *Options) validate() error {
	checks := []struct {
		name string
		bad  bool
	}{
		{"AuthorizeTimeout", o.AuthorizeTimeout < 0},
		{"IdleTimeout", o.IdleTimeout < 0},
		{"MaxMessageBytes", o.MaxMessageBytes < 0},
		{"SendQueueLen", o.SendQueueLen < 0},
		{"SendQueueBytes", o.SendQueueBytes < 0},
		{"InboxLen", o.InboxLen < 0},
		{"MaxInflight", o.MaxInflight < 0},
		{"MaxPendingBytes", o.MaxPendingBytes < 0},
		{"MaxAwarenessStateBytes", o.MaxAwarenessStateBytes < 0},
		{"MaxAwarenessClients", o.MaxAwarenessClients < 0},
		{"AwarenessTimeout", o.AwarenessTimeout < 0},
		{"MaxMessageRate", o.MaxMessageRate < 0},
		{"MaxByteRate", o.MaxByteRate < 0},
		{"MaxThrottle", o.MaxThrottle < 0},
		{"MaxDocumentBytes", o.MaxDocumentBytes < 0},
		{"MaxConnections", o.MaxConnections < 0},
		{"MaxConnectionsPerDoc", o.MaxConnectionsPerDoc < 0},
		{"Reauthenticate", o.Reauthenticate < 0},
		{"HookQueueLen", o.HookQueueLen < 0},
		{"HookTimeout", o.HookTimeout < 0},
		{"PingInterval", o.PingInterval < 0},
		{"PongWait", o.PongWait < 0},
		{"WriteTimeout", o.WriteTimeout < 0},
	}
	for _, c := range checks {
		if c.bad {
			return fmt.Errorf("%w: %s is negative", errBadOptions, c.name)
		}
	}
	return nil
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AuthorizeTimeout <= 0 {
		o.AuthorizeTimeout = 10 * time.Second
	}
	if o.HookQueueLen <= 0 {
		o.HookQueueLen = 4096
	}
	if o.HookTimeout <= 0 {
		o.HookTimeout = 5 * time.Second
	}
	if o.MaxThrottle <= 0 {
		o.MaxThrottle = 2 * time.Second
	}
	if o.MaxDocumentBytes <= 0 {
		o.MaxDocumentBytes = 256 << 20
	}
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 32 << 20
	}
	if o.SendQueueLen <= 0 {
		o.SendQueueLen = 16384
	}
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = 64 << 20
	}
	if o.InboxLen <= 0 {
		o.InboxLen = 32
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 1024
	}
	if o.MaxPendingBytes <= 0 {
		o.MaxPendingBytes = 4 << 20
	}
	if o.MaxAwarenessStateBytes <= 0 {
		o.MaxAwarenessStateBytes = 64 << 10
	}
	if o.MaxAwarenessClients <= 0 {
		o.MaxAwarenessClients = 64
	}
	if o.AwarenessTimeout <= 0 {
		o.AwarenessTimeout = 30 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.PongWait <= 0 {
		o.PongWait = 2 * o.PingInterval
	}
	if o.KeepAliveInterval == 0 {
		o.KeepAliveInterval = 15 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	return o
}
