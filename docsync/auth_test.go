package docsync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

// tokenAuth is an Authenticate hook over a mutable token table: token → grant. A missing
// token is unauthenticated; an unknown one is forbidden.
type tokenAuth struct {
	mu     sync.Mutex
	grants map[string]docsync.Grant
	calls  map[string]int // per token
}

func newTokenAuth() *tokenAuth {
	return &tokenAuth{calls: map[string]int{}, grants: map[string]docsync.Grant{
		"rw":   {Principal: "alice", Access: docsync.AccessReadWrite},
		"ro":   {Principal: "bob", Access: docsync.AccessReadOnly},
		"deny": {Principal: "mallory", Access: docsync.AccessDenied},
	}}
}

func (a *tokenAuth) set(token string, g docsync.Grant) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.grants[token] = g
}

func (a *tokenAuth) remove(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.grants, token)
}

// callsOf returns how often token was checked.
func (a *tokenAuth) callsOf(token string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[token]
}

func (a *tokenAuth) authenticate(_ context.Context, r *http.Request, _ string) (docsync.Grant, error) {
	tok := docsync.TokenFromRequest(r, docsync.DefaultTokenSource)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls[tok]++
	if tok == "" {
		return docsync.Grant{}, docsync.ErrUnauthenticated
	}
	g, ok := a.grants[tok]
	if !ok {
		return docsync.Grant{}, errors.New("unknown token")
	}
	return g, nil
}

// textUpdate returns a v1 update inserting s at the start of text "t", by client id.
func textUpdate(id uint64, s string) []byte {
	d := crdt.NewDoc(crdt.Options{ClientID: id})
	var u []byte
	d.OnUpdate(func(b []byte, _ any) { u = b })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Insert(tx, 0, s, nil) })
	return u
}

// do sends an HTTP request with the given header and returns the status and body.
func do(t *testing.T, method, url string, hdr http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

func TestAuth_HTTPStatusesPerAccess(t *testing.T) {
	auth := newTokenAuth()
	_, _, ts := newTestServer(t, docsync.Options{Authenticate: auth.authenticate})
	api := ts.URL + "/api/docs"
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	cookie := func(tok string) http.Header { return http.Header{"Cookie": {"tandem_token=" + tok}} }

	// Each credential source works; refusals are 401 (none) and 403 (denied, unknown).
	for _, tc := range []struct {
		name string
		url  string
		hdr  http.Header
		get  int
		post int
	}{
		{"read-write by query", "?token=rw", nil, 200, 204},
		{"read-write by bearer", "", bearer("rw"), 200, 204},
		{"read-only by cookie", "", cookie("ro"), 200, 403},
		{"denied", "?token=deny", nil, 403, 403},
		{"unknown token", "?token=zzz", nil, 403, 403},
		{"no token", "", nil, 401, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := do(t, http.MethodGet, api+"/d"+tc.url, tc.hdr, nil)
			assert.Equal(t, tc.get, code, "GET")
			code, body := do(t, http.MethodPost, api+"/d/update"+tc.url, tc.hdr, textUpdate(uint64(len(tc.name)), "x"))
			assert.Equal(t, tc.post, code, "POST: %s", body)
		})
	}
	// The list, history and binary state are behind the same hook.
	for _, p := range []string{"", "/d/history", "/d/update"} {
		code, _ := do(t, http.MethodGet, api+p, nil, nil)
		assert.Equal(t, 401, code, "GET %s without a token", p)
		code, _ = do(t, http.MethodGet, api+p+"?token=ro", nil, nil)
		assert.Equal(t, 200, code, "GET %s read-only", p)
	}
	// Only the two read-write posts were stored, recorded as alice.
	code, body := do(t, http.MethodGet, api+"/d/history?token=rw", nil, nil)
	require.Equal(t, 200, code)
	var ops []struct {
		User string `json:"user"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &ops))
	require.Len(t, ops, 2)
	for _, op := range ops {
		assert.Equal(t, "alice", op.User)
	}
}

// dialWS opens a raw WebSocket to path with hdr and returns the first message it gets and the
// close code it ends with (0 if it stays open for the given time).
func dialRefused(t *testing.T, url string, hdr http.Header) (first []byte, code int) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	require.NoError(t, err, "refusals accept the upgrade (SPEC decision 6)")
	resp.Body.Close()
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			require.ErrorAs(t, err, &ce)
			return first, ce.Code
		}
		if first == nil {
			first = msg
		}
	}
}

func TestAuth_WebSocketRefusalsSendReasonThenPermanentCode(t *testing.T) {
	auth := newTokenAuth()
	_, base, ts := newTestServer(t, docsync.Options{Authenticate: auth.authenticate})
	for _, tc := range []struct {
		query, hdrTok string
		code          int
		reason        string
	}{
		{"?token=deny", "", 4403, "access denied"},
		{"?token=zzz", "", 4403, "unknown token"},
		{"", "", 4401, "unauthenticated"},
	} {
		first, code := dialRefused(t, base+"/sync/doc"+tc.query, nil)
		assert.Equal(t, tc.code, code, tc.query)
		require.NotEmpty(t, first)
		assert.Equal(t, byte(2), first[0], "the auth message comes first")
		assert.Contains(t, string(first), tc.reason)
	}
	// Plain HTTP to the WebSocket route (no upgrade) is still answered before any auth.
	code, _ := do(t, http.MethodGet, ts.URL+"/sync/doc", nil, nil)
	assert.Equal(t, http.StatusBadRequest, code)
	// A bearer header works for non-browser clients.
	ws, resp, err := websocket.DefaultDialer.Dial(base+"/sync/doc", http.Header{"Authorization": {"Bearer rw"}})
	require.NoError(t, err)
	resp.Body.Close()
	_, msg, err := ws.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 1, 0}, msg, "step 1: admitted")
	ws.Close()
}

func TestAuth_ReadOnlyPeerReceivesButCannotWrite(t *testing.T) {
	auth := newTokenAuth()
	store := persistence.NewMemoryStore()
	defer store.Close()
	srv, base, _ := newTestServer(t, docsync.Options{Authenticate: auth.authenticate, Store: store})
	writer := dial(t, base, "doc?token=rw")
	writer.waitSynced()
	writer.insert(0, "hello")
	reader := dialPrepared(t, base, "doc?token=ro", func(d *crdt.Doc) {
		// An offline edit the read-only client tries to push with its step 2.
		d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Insert(tx, 0, "OFFLINE ", nil) })
	}, 77)
	reader.send(syncFrame(0, []byte{0}))
	reader.waitSynced()
	require.Eventually(t, func() bool { return strings.Contains(reader.text(), "hello") }, waitFor, 5*time.Millisecond)

	// The reader's live edit and awareness: the edit is dropped, the awareness goes through.
	reader.insert(0, "RO ")
	reader.send(awarenessFrame(77, 1, `{"user":"bob"}`))
	writer.insert(5, " world")
	require.Eventually(t, func() bool {
		for _, ev := range writer.eventsCopy() {
			if ev.typ == 1 && len(ev.aw) == 1 && ev.aw[0].client == 77 {
				return true
			}
		}
		return false
	}, waitFor, 5*time.Millisecond, "the read-only peer's presence reaches others")
	require.Eventually(t, func() bool { return strings.HasSuffix(reader.text(), "hello world") }, waitFor, 5*time.Millisecond,
		"the read-only peer keeps receiving")
	assert.Equal(t, "hello world", writer.text(), "nothing of the read-only peer reached the writer")

	st, err := srv.ReadText(context.Background(), "doc", "t")
	require.NoError(t, err)
	assert.Equal(t, "hello world", st, "nor the server's document")
	recs, err := store.History(context.Background(), "doc", 0, 0)
	require.NoError(t, err)
	for _, rec := range recs {
		assert.NotEqual(t, "bob", rec.User, "nothing of bob's was stored")
		d := crdt.NewDoc(crdt.Options{})
		require.NoError(t, d.ApplyUpdate(rec.Update))
		_, has := d.StateVector()[77]
		assert.False(t, has, "record %d holds client 77's edit", rec.Seq)
	}
	select {
	case <-reader.closed:
		t.Fatal("the read-only peer was disconnected")
	default:
	}
}

func TestAuth_RevokeAndSetAccessWhileConnected(t *testing.T) {
	auth := newTokenAuth()
	srv, base, _ := newTestServer(t, docsync.Options{Authenticate: auth.authenticate})
	ctx := context.Background()
	alice := dial(t, base, "doc?token=rw")
	bob := dial(t, base, "doc?token=ro")
	alice.waitSynced()
	bob.waitSynced()

	// Downgrade alice: her edits stop reaching bob, without a reconnect.
	n, err := srv.SetAccess(ctx, "doc", "alice", docsync.AccessReadOnly)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	alice.insert(0, "dropped")
	// Upgrade bob: his edits reach alice.
	n, err = srv.SetAccess(ctx, "", "bob", docsync.AccessReadWrite)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	bob.insert(0, "bob")
	require.Eventually(t, func() bool { return strings.Contains(alice.text(), "bob") }, waitFor, 5*time.Millisecond)
	got, err := srv.ReadText(ctx, "doc", "t")
	require.NoError(t, err)
	assert.Equal(t, "bob", got, "alice's edit after her downgrade was dropped")

	// Revoke bob: closed with 4403 (the provider stops retrying); alice stays.
	n, err = srv.Revoke(ctx, "doc", "bob")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, 4403, bob.waitClosed())
	select {
	case <-alice.closed:
		t.Fatal("alice was closed too")
	default:
	}
	n, err = srv.Revoke(ctx, "other-doc", "alice")
	require.NoError(t, err)
	assert.Zero(t, n, "a document not in memory has no connections")
	assert.Equal(t, []string{"doc"}, srv.Loaded(), "and Revoke does not load it")
}

func TestAuth_ReauthenticateDowngradesAndCutsOff(t *testing.T) {
	auth := newTokenAuth()
	auth.set("t1", docsync.Grant{Principal: "carol", Access: docsync.AccessReadWrite})
	auth.set("t2", docsync.Grant{Principal: "dave", Access: docsync.AccessReadWrite})
	_, base, _ := newTestServer(t, docsync.Options{Authenticate: auth.authenticate, Reauthenticate: 20 * time.Millisecond})
	carol := dial(t, base, "doc?token=t1")
	dave := dial(t, base, "doc?token=t2")
	carol.waitSynced()
	dave.waitSynced()

	auth.set("t1", docsync.Grant{Principal: "carol", Access: docsync.AccessReadOnly})
	// Two more checks of carol's token: the first one's downgrade was posted to the actor
	// before the second ran (one goroutine per connection does both in turn).
	n := auth.callsOf("t1")
	require.Eventually(t, func() bool { return auth.callsOf("t1") >= n+2 }, waitFor, 5*time.Millisecond)
	carol.insert(0, "ro")
	dave.insert(0, "rw")
	require.Eventually(t, func() bool { return strings.Contains(carol.text(), "rw") }, waitFor, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, "rw", dave.text(), "carol's edit after the downgrade did not reach dave")

	auth.remove("t1") // token revoked: unknown → forbidden
	assert.Equal(t, 4403, carol.waitClosed())
	auth.set("t2", docsync.Grant{Principal: "dave", Access: docsync.AccessDenied})
	assert.Equal(t, 4403, dave.waitClosed())
}

func TestAuth_OriginAllowList(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"}})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"https://app.example.com", true},
		{"https://a.b.example.org", true},
		{"", true}, // not a browser
		{"https://evil.example.net", false},
		{"http://app.example.com", false}, // scheme matters
		{"https://example.org", false},
	} {
		hdr := http.Header{}
		if tc.origin != "" {
			hdr.Set("Origin", tc.origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(base+"/sync/doc", hdr)
		require.NoError(t, err, tc.origin)
		resp.Body.Close()
		_ = ws.SetReadDeadline(time.Now().Add(waitFor))
		_, msg, err := ws.ReadMessage()
		require.NoError(t, err, tc.origin)
		if tc.ok {
			assert.Equal(t, []byte{0, 0, 1, 0}, msg, "%q admitted", tc.origin)
		} else {
			assert.Equal(t, byte(2), msg[0], "%q gets the auth message", tc.origin)
			_, _, err = ws.ReadMessage()
			var ce *websocket.CloseError
			if assert.ErrorAs(t, err, &ce, tc.origin) {
				assert.Equal(t, 4403, ce.Code, tc.origin)
			}
		}
		ws.Close()
	}
}

func TestAuth_SlowAuthenticateTimesOut(t *testing.T) {
	_, base, ts := newTestServer(t, docsync.Options{
		AuthorizeTimeout: 50 * time.Millisecond,
		Authenticate: func(ctx context.Context, _ *http.Request, _ string) (docsync.Grant, error) {
			<-ctx.Done()
			return docsync.Grant{}, ctx.Err()
		},
	})
	_, code := dialRefused(t, base+"/sync/doc", nil)
	assert.Equal(t, 4403, code)
	status, _ := do(t, http.MethodGet, ts.URL+"/api/docs/doc", nil, nil)
	assert.Equal(t, 403, status)
}

func TestTokenFromRequest(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "http://x/sync/d?token=q", nil)
	r.Header.Set("Authorization", "Bearer h")
	r.AddCookie(&http.Cookie{Name: "tandem_token", Value: "c"})
	assert.Equal(t, "q", docsync.TokenFromRequest(r, docsync.DefaultTokenSource))
	assert.Equal(t, "h", docsync.TokenFromRequest(r, docsync.TokenSource{Header: "Authorization", Cookie: "tandem_token"}))
	assert.Equal(t, "c", docsync.TokenFromRequest(r, docsync.TokenSource{Cookie: "tandem_token"}))
	assert.Equal(t, "", docsync.TokenFromRequest(r, docsync.TokenSource{Query: "other"}))
}
