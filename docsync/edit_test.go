package docsync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

func TestEdit_TransactionReachesSocketsAndStore(t *testing.T) {
	store := persistence.NewMemoryStore()
	defer store.Close()
	srv, base, _ := newTestServer(t, docsync.Options{Store: store})
	c := dial(t, base, "doc")
	c.waitSynced()
	c.insert(0, "world")
	require.Eventually(t, func() bool {
		txt, _ := srv.ReadText(context.Background(), "doc", "t")
		return txt == "world"
	}, waitFor, 5*time.Millisecond)

	ctx := docsync.WithPrincipal(context.Background(), "bot")
	err := srv.Edit(ctx, "doc", func(tx *crdt.Transaction, d *crdt.Doc) {
		d.Text("t").Insert(tx, 0, "hello ", nil)
		d.Map("m").Set(tx, "edited", true)
	})
	require.NoError(t, err)
	// Edit returned: the update is durable and was sent to the socket.
	recs, err := store.History(context.Background(), "doc", 0, 0)
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	assert.Equal(t, "bot", recs[len(recs)-1].User)
	require.Eventually(t, func() bool { return c.text() == "hello world" }, waitFor, 5*time.Millisecond)

	js, err := srv.ReadJSON(context.Background(), "doc")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"t": "hello world", "m": map[string]any{"edited": true}}, js)

	// An edit that changes nothing stores nothing.
	n := len(recs)
	require.NoError(t, srv.Edit(context.Background(), "doc", func(*crdt.Transaction, *crdt.Doc) {}))
	recs, err = store.History(context.Background(), "doc", 0, 0)
	require.NoError(t, err)
	assert.Len(t, recs, n)

	_, err = srv.ReadText(context.Background(), "doc", "m")
	assert.ErrorIs(t, err, docsync.ErrNoRoot, "a map has no text")
	_, err = srv.ReadText(context.Background(), "doc", "nope")
	assert.ErrorIs(t, err, docsync.ErrNoRoot)
}

func TestEdit_PanicFailsOnlyThatEdit(t *testing.T) {
	srv, base, _ := newTestServer(t, docsync.Options{})
	require.NoError(t, srv.ApplyUpdate(context.Background(), "doc", textUpdate(4, "kept")))
	c := dial(t, base, "doc")
	c.waitSynced()
	err := srv.Edit(context.Background(), "doc", func(tx *crdt.Transaction, d *crdt.Doc) {
		d.Text("t").Insert(tx, 0, "lost", nil)
		panic("boom")
	})
	require.Error(t, err)
	assert.Equal(t, 1011, c.waitClosed(), "the document's peers reconnect and resync")
	txt, err := srv.ReadText(context.Background(), "doc", "t")
	require.NoError(t, err)
	assert.Equal(t, "kept", txt, "the document reloads from the store without the edit")
}

func TestAPI_RootAsJSONOrText(t *testing.T) {
	srv, _, ts := newTestServer(t, docsync.Options{})
	require.NoError(t, srv.Edit(context.Background(), "doc", func(tx *crdt.Transaction, d *crdt.Doc) {
		d.Text("body").Insert(tx, 0, "line 1\nline 2", nil)
		d.Map("meta").Set(tx, "title", "T")
	}))
	api := ts.URL + "/api/docs/doc"
	status, body := get(t, api+"?root=body&format=text")
	assert.Equal(t, 200, status)
	assert.Equal(t, "line 1\nline 2", string(body))
	status, body = get(t, api+"?root=meta")
	assert.Equal(t, 200, status)
	var meta map[string]any
	require.NoError(t, json.Unmarshal(body, &meta))
	assert.Equal(t, map[string]any{"title": "T"}, meta)
	for q, want := range map[string]int{
		"?root=meta&format=text": 404, // not text
		"?root=missing":          404,
		"?format=text":           400,
		"?format=xml":            400,
	} {
		status, _ := get(t, api+q)
		assert.Equal(t, want, status, q)
	}
}

func TestServer_PrefixOption(t *testing.T) {
	srv, err := docsync.New(docsync.Options{Prefix: "/collab/", Logger: quietLogger()})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	defer func() {
		ts.Close()
		assert.NoError(t, srv.Close())
	}()
	status, _ := get(t, ts.URL+"/collab/healthz")
	assert.Equal(t, 200, status)
	status, _ = get(t, ts.URL+"/healthz")
	assert.Equal(t, 404, status)
	status, _ = get(t, ts.URL+"/collabx/healthz")
	assert.Equal(t, 404, status)
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/collab/sync/doc", nil)
	require.NoError(t, err)
	resp.Body.Close()
	_, msg, err := ws.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 1, 0}, msg)
	ws.Close()
	code, _ := do(t, http.MethodGet, ts.URL+"/collab/api/docs", nil, nil)
	assert.Equal(t, 200, code)
}
