package docsync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Access is what a principal may do with a document.
type Access uint8

// The access levels, from least to most.
const (
	// AccessDenied refuses the request: HTTP 403, or close code 4403 on a WebSocket.
	AccessDenied Access = iota
	// AccessReadOnly receives everything and may send sync step 1 and awareness (so its
	// presence shows), but every update it sends is dropped: never applied, stored or
	// forwarded. On the HTTP API it may GET but not POST.
	AccessReadOnly
	// AccessReadWrite may read and edit.
	AccessReadWrite
)

// String returns "denied", "read-only" or "read-write".
func (a Access) String() string {
	switch a {
	case AccessDenied:
		return "denied"
	case AccessReadOnly:
		return "read-only"
	case AccessReadWrite:
		return "read-write"
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// Grant is the answer of an AuthenticateFunc: who the request is, and what it may do.
type Grant struct {
	// Principal names the user (or service) behind the request. It is recorded with every
	// update the connection sends (persistence.Record.User), passed to hooks, and matched by
	// Server.Revoke and Server.SetAccess. "" is allowed (anonymous).
	Principal string
	// Access is what the principal may do with the document.
	Access Access
}

// AuthenticateFunc decides who a WebSocket or HTTP API request is and what it may do with doc
// ("" for GET /api/docs, the document list). It runs on the request's goroutine before the
// upgrade, outside every document actor, with ctx bounded by Options.AuthorizeTimeout; it runs
// again every Options.Reauthenticate while a WebSocket stays open (ctx then derives from the
// server, r is the original upgrade request, whose context is not used).
//
// An error wrapping ErrUnauthenticated refuses with 4401 (HTTP 401); any other error, a
// timeout, or Grant.Access == AccessDenied refuses with 4403 (HTTP 403). The error text is
// sent to the client as the y-protocols auth reason: keep secrets out of it.
//
// Credentials usually come from a query parameter (browsers cannot set headers on a
// WebSocket: new WebsocketProvider(url, doc, ydoc, {params: {token}})), a cookie, or the
// Authorization header for non-browser clients; TokenFromRequest reads all three.
type AuthenticateFunc func(ctx context.Context, r *http.Request, doc string) (Grant, error)

// TokenSource names where TokenFromRequest looks for a credential. Empty fields are skipped.
type TokenSource struct {
	// Query is a URL query parameter, e.g. "token".
	Query string
	// Header is a request header, e.g. "Authorization"; a "Bearer " prefix is removed.
	Header string
	// Cookie is a cookie name.
	Cookie string
}

// DefaultTokenSource looks in ?token=, then "Authorization: Bearer …", then the cookie
// "tandem_token".
var DefaultTokenSource = TokenSource{Query: "token", Header: "Authorization", Cookie: "tandem_token"}

// TokenFromRequest returns the first non-empty credential found in r, in the order query
// parameter, header, cookie, or "" if there is none.
func TokenFromRequest(r *http.Request, src TokenSource) string {
	if src.Query != "" {
		if t := r.URL.Query().Get(src.Query); t != "" {
			return t
		}
	}
	if src.Header != "" {
		if h := strings.TrimSpace(r.Header.Get(src.Header)); h != "" {
			if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
				return strings.TrimSpace(h[7:])
			}
			return h
		}
	}
	if src.Cookie != "" {
		if c, err := r.Cookie(src.Cookie); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// errOrigin refuses a browser whose Origin is not in Options.AllowedOrigins.
var errOrigin = fmt.Errorf("%w: origin not allowed", ErrForbidden)

// errDenied is the refusal of a Grant with AccessDenied and no error.
var errDenied = fmt.Errorf("%w: access denied", ErrForbidden)

// errReadOnly refuses a write from a read-only principal on the HTTP API.
var errReadOnly = fmt.Errorf("%w: read-only access", ErrForbidden)

// authenticate runs the configured hook with its timeout and turns its answer into a Grant or
// a refusal error (ErrUnauthenticated or ErrForbidden wrapped). With no hook, everyone may read
// and write. Options.Authorize (the older, user-only hook) grants read-write.
func (s *Server) authenticate(ctx context.Context, r *http.Request, doc string) (Grant, error) {
	if s.opts.Authenticate == nil && s.opts.Authorize == nil {
		return Grant{Access: AccessReadWrite}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.AuthorizeTimeout)
	defer cancel()
	var g Grant
	var err error
	switch {
	case s.opts.Authenticate != nil:
		g, err = s.opts.Authenticate(ctx, r, doc)
	case s.opts.Authorize != nil:
		g.Access = AccessReadWrite
		g.Principal, err = s.opts.Authorize(ctx, r, doc)
	}
	switch {
	case err == nil && g.Access == AccessDenied:
		return g, errDenied
	case err == nil && g.Access > AccessReadWrite:
		return g, fmt.Errorf("%w: invalid access level %d", ErrForbidden, g.Access)
	case err == nil:
		return g, nil
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrForbidden):
		return g, err
	case ctx.Err() != nil:
		return g, fmt.Errorf("%w: authentication timed out", ErrForbidden)
	default:
		return g, fmt.Errorf("%w: %w", ErrForbidden, err)
	}
}

// refusalReason maps an authentication error to its close reason (4401 or 4403).
func refusalReason(err error) CloseReason {
	if errors.Is(err, ErrUnauthenticated) {
		return CloseUnauthenticated
	}
	return CloseForbidden
}

// refusalStatus maps an authentication error to its HTTP status (401 or 403).
func refusalStatus(err error) int {
	if errors.Is(err, ErrUnauthenticated) {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// originAllowed reports whether a WebSocket upgrade's Origin passes Options.CheckOrigin or
// Options.AllowedOrigins. Requests without an Origin header (non-browser clients) pass, as do
// same-host origins. Entries are full origins ("https://app.example.com"), "*" (any), or a
// wildcard subdomain ("https://*.example.com").
func (s *Server) originAllowed(r *http.Request) bool {
	if s.opts.CheckOrigin != nil {
		return s.opts.CheckOrigin(r)
	}
	if len(s.opts.AllowedOrigins) == 0 {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return matchOrigin(s.opts.AllowedOrigins, strings.ToLower(u.Scheme), strings.ToLower(u.Host))
}

// matchOrigin reports whether scheme://host matches one of the allow-list entries.
func matchOrigin(allowed []string, scheme, host string) bool {
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimRight(strings.TrimSpace(a), "/"))
		if a == "*" {
			return true
		}
		as, ah, ok := strings.Cut(a, "://")
		if !ok || as != scheme {
			continue
		}
		if ah == host {
			return true
		}
		if rest, ok := strings.CutPrefix(ah, "*."); ok && strings.HasSuffix(host, "."+rest) {
			return true
		}
	}
	return false
}
