package docsync_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/docsync"
)

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestAPI_EditsReachSocketsAndReadBack(t *testing.T) {
	_, base, ts := newTestServer(t, docsync.Options{})
	c := dial(t, base, "notes")
	c.waitSynced()

	// A server-side edit over HTTP reaches the open socket.
	src := crdt.NewDoc(crdt.Options{ClientID: 42})
	var u1, u2 []byte
	cancel := src.OnUpdate(func(b []byte, _ any) {
		if u1 == nil {
			u1 = b
		} else {
			u2 = b
		}
	})
	src.Transact(nil, func(tx *crdt.Transaction) { src.Map("m").Set(tx, "k", "v1") })
	src.Transact(nil, func(tx *crdt.Transaction) { src.Text("t").Insert(tx, 0, "hi", nil) })
	cancel()
	for _, u := range [][]byte{u1, u2} {
		resp, err := http.Post(ts.URL+"/api/docs/notes/update", "application/octet-stream", bytes.NewReader(u))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	require.Eventually(t, func() bool { return c.text() == "hi" }, waitFor, 5*time.Millisecond)

	code, body := get(t, ts.URL+"/api/docs/notes")
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"m":{"k":"v1"},"t":"hi"}`, string(body))

	code, body = get(t, ts.URL+"/api/docs/notes/update")
	require.Equal(t, http.StatusOK, code)
	d := crdt.NewDoc(crdt.Options{})
	require.NoError(t, d.ApplyUpdate(body))
	assert.Equal(t, "hi", d.ToJSON()["t"])

	// With a state vector: only what it lacks.
	after1 := crdt.NewDoc(crdt.Options{})
	require.NoError(t, after1.ApplyUpdate(u1))
	sv := base64.RawURLEncoding.EncodeToString(after1.EncodeStateVector())
	code, body = get(t, ts.URL+"/api/docs/notes/update?sv="+sv)
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, after1.ApplyUpdate(body))
	assert.Equal(t, "hi", after1.ToJSON()["t"])
	assert.Less(t, len(body), len(u1)+len(u2))

	code, body = get(t, ts.URL+"/api/docs")
	require.Equal(t, http.StatusOK, code)
	var list []struct {
		Name   string `json:"name"`
		Ops    uint64 `json:"ops"`
		Loaded bool   `json:"loaded"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	assert.Equal(t, "notes", list[0].Name)
	assert.Equal(t, uint64(2), list[0].Ops)
	assert.True(t, list[0].Loaded)

	code, body = get(t, ts.URL+"/api/docs/notes/history")
	require.Equal(t, http.StatusOK, code)
	var ops []struct {
		Seq     uint64   `json:"seq"`
		Clients []uint64 `json:"clients"`
		Bytes   int      `json:"bytes"`
	}
	require.NoError(t, json.Unmarshal(body, &ops))
	require.Len(t, ops, 2)
	assert.Equal(t, uint64(1), ops[0].Seq)
	assert.Equal(t, []uint64{42}, ops[0].Clients)
	assert.Equal(t, len(u1), ops[0].Bytes)

	code, body = get(t, ts.URL+"/api/docs/notes/history?at=1")
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"m":{"k":"v1"}}`, string(body), "content as of seq 1")
}

func TestAPI_Errors(t *testing.T) {
	_, _, ts := newTestServer(t, docsync.Options{MaxMessageBytes: 64})
	for _, tc := range []struct {
		method, path string
		body         []byte
		code         int
	}{
		{"POST", "/api/docs/x/update", []byte{1, 2, 3}, http.StatusBadRequest},
		{"POST", "/api/docs/x/update", make([]byte, 100), http.StatusRequestEntityTooLarge},
		{"GET", "/api/docs/bad%20name", nil, http.StatusBadRequest},
		{"GET", "/api/docs/x/update?sv=!!!", nil, http.StatusBadRequest},
		{"GET", "/api/docs/x/update?sv=AwE", nil, http.StatusBadRequest},
		{"DELETE", "/api/docs/x", nil, http.StatusMethodNotAllowed},
		{"GET", "/api/docs/x/nope", nil, http.StatusNotFound},
		{"GET", "/api/docs/missing/history", nil, http.StatusNotFound},
		{"GET", "/api/docs/x/history?at=zero", nil, http.StatusBadRequest},
		{"GET", "/nope", nil, http.StatusNotFound},
		{"GET", "/sync/x", nil, http.StatusBadRequest}, // not an upgrade
	} {
		t.Run(fmt.Sprintf("%s %s", tc.method, tc.path), func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, bytes.NewReader(tc.body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.code, resp.StatusCode)
		})
	}
}

func TestServer_KeepAliveFeedsIdleClients(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{KeepAliveInterval: 50 * time.Millisecond})
	c := dial(t, base, "doc")
	c.waitSynced()
	require.Eventually(t, func() bool {
		n := 0
		for _, ev := range c.eventsCopy() {
			if ev.typ == 1 && len(ev.aw) == 0 {
				n++
			}
		}
		return n >= 3
	}, waitFor, 10*time.Millisecond, "empty awareness updates (01 01 00) keep the client's watchdog fed")
}

// TestServer_KeepAliveOnlyWhenQuiet: a peer that receives traffic more often than
// KeepAliveInterval gets no keep-alives; pings (a shorter interval here) do not count as
// traffic and do not stop them once it is quiet.
func TestServer_KeepAliveOnlyWhenQuiet(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{KeepAliveInterval: 300 * time.Millisecond, PingInterval: 40 * time.Millisecond})
	c := dial(t, base, "doc")
	c.waitSynced()
	w := dial(t, base, "doc")
	w.waitSynced()
	keepAlives := func() int {
		n := 0
		for _, ev := range c.eventsCopy() {
			if ev.typ == 1 && len(ev.aw) == 0 {
				n++
			}
		}
		return n
	}
	base0 := keepAlives()
	for i := 0; i < 15; i++ { // 1.5 s of an update every 100 ms
		w.insert(0, "x")
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, base0, keepAlives(), "no keep-alive while updates flow")
	require.Eventually(t, func() bool { return keepAlives() >= base0+2 }, waitFor, 20*time.Millisecond,
		"keep-alives once the document is quiet")
}

func TestServer_RateLimit(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{MaxMessageRate: 5, MaxThrottle: 300 * time.Millisecond})
	c := dialNoSync(t, base, "doc", 0)
	start := time.Now()
	for i := 0; i < 50; i++ {
		c.send([]byte{3}) // query-awareness
	}
	assert.Equal(t, 1013, c.waitClosed(), "a flood is closed with retry-later")
	// 10 messages pass at once (burst), then the reader is paced 200 ms per message until the
	// pauses add up to more than MaxThrottle.
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "the peer was paced before being closed")
}

func TestServer_ApplyUpdateGoAPI(t *testing.T) {
	srv, base, _ := newTestServer(t, docsync.Options{})
	c := dial(t, base, "doc")
	c.waitSynced()
	src := crdt.NewDoc(crdt.Options{ClientID: 8})
	var u []byte
	src.OnUpdate(func(b []byte, _ any) { u = b })
	src.Transact(nil, func(tx *crdt.Transaction) { src.Text("t").Insert(tx, 0, "go", nil) })
	require.NoError(t, srv.ApplyUpdate(context.Background(), "doc", u))
	require.Eventually(t, func() bool { return c.text() == "go" }, waitFor, 5*time.Millisecond)
	assert.ErrorIs(t, srv.ApplyUpdate(context.Background(), "doc", []byte{0xff}), docsync.ErrBadUpdate)
	assert.ErrorIs(t, srv.ApplyUpdate(context.Background(), "a/b", u), docsync.ErrInvalidName)
	st, err := srv.EncodeState(context.Background(), "doc", nil)
	require.NoError(t, err)
	d := crdt.NewDoc(crdt.Options{})
	require.NoError(t, d.ApplyUpdate(st))
	assert.Equal(t, "go", d.ToJSON()["t"])
}

func TestServer_SubprotocolEchoed(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{})
	d := websocket.Dialer{Subprotocols: []string{"yjs", "other"}}
	ws, resp, err := d.Dial(base+"/sync/doc", nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer ws.Close()
	assert.Equal(t, "yjs", ws.Subprotocol())
}

func ExampleCloseTable() {
	for _, row := range docsync.CloseTable() {
		fmt.Printf("%d %-20s permanent=%v\n", row.Code, row.Name, row.Permanent)
	}
	// Output:
	// 1001 going away           permanent=false
	// 1011 internal error       permanent=false
	// 1013 try again later      permanent=false
	// 4400 bad message          permanent=true
	// 4401 unauthenticated      permanent=true
	// 4403 forbidden            permanent=true
	// 4413 too large            permanent=true
	// 4422 missing dependencies permanent=true
	// 1013 rate limited         permanent=false
	// 1013 too many connections permanent=false
	// 4413 document too large   permanent=true
}
