package docsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

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

// AuthorizeFunc decides whether a WebSocket or HTTP API request may use doc. It runs on the
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
	// Authorize, if set, is consulted for every WebSocket and HTTP API request. Nil: everyone
	// may read and write every document.
	Authorize AuthorizeFunc
	// AuthorizeTimeout bounds Authorize. Zero: 10 s.
	AuthorizeTimeout time.Duration
	// CheckOrigin decides whether a WebSocket upgrade from another origin is accepted. Nil:
	// every origin is accepted (y-websocket apps are commonly served from another origin; put
	// the policy in Authorize or here).
	CheckOrigin func(r *http.Request) bool

	// IdleTimeout is how long a document stays loaded after its last peer leaves. Zero: 30 s.
	IdleTimeout time.Duration
	// MaxMessageBytes is the largest WebSocket message accepted from a peer (a step 2 can be
	// as large as the whole document). Larger messages close the connection with 4413. Zero:
	// 32 MiB.
	MaxMessageBytes int64
	// SendQueueLen is how many frames may wait for one peer's writer. A peer whose queue is
	// full is closed with 1013. Zero: 256.
	SendQueueLen int
	// SendQueueBytes is how many bytes may wait for one peer's writer before it is closed with
	// 1013. Zero: 64 MiB.
	SendQueueBytes int64
	// InboxLen is the capacity of each document actor's inbox. Zero: 256.
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
	// (bursts up to twice as many are allowed); faster peers are closed with 4429. Zero: no
	// limit.
	MaxMessageRate float64

	// PingInterval is how often the server pings each peer. Zero: 30 s.
	PingInterval time.Duration
	// PongWait is how long a peer may stay silent (no message, no pong) before it is
	// considered dead. Zero: 2 × PingInterval.
	PongWait time.Duration
	// KeepAliveInterval: after this long without sending anything to a peer, the server sends
	// an empty awareness update (01 01 00) so that the y-websocket watchdog (30 s) stays
	// fed. Zero: 15 s. Negative: never.
	KeepAliveInterval time.Duration
	// WriteTimeout bounds each write to a peer. Zero: 10 s.
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
	if o.CheckOrigin == nil {
		o.CheckOrigin = func(*http.Request) bool { return true }
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 32 << 20
	}
	if o.SendQueueLen <= 0 {
		o.SendQueueLen = 256
	}
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = 64 << 20
	}
	if o.InboxLen <= 0 {
		o.InboxLen = 256
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
