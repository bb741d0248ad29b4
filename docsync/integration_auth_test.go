package docsync_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

// TestIntegration_ReadOnlyAndRevocation runs testdata/js/readonly.mjs: real y-websocket
// clients with tokens in the URL (the provider's params option). The server sits in an
// application mux next to an admin route that revokes a principal, as an embedding app would.
func TestIntegration_ReadOnlyAndRevocation(t *testing.T) {
	requireNode(t)
	auth := newTokenAuth()
	auth.set("victim", docsync.Grant{Principal: "eve", Access: docsync.AccessReadWrite})
	store := persistence.NewMemoryStore()
	defer store.Close()
	logs := &syncBuffer{}
	srv, err := docsync.New(docsync.Options{Store: store, Authenticate: auth.authenticate, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.HandleFunc("POST /admin/revoke", func(w http.ResponseWriter, r *http.Request) {
		who := r.URL.Query().Get("principal")
		// Revoke the credential first, so that a reconnect would be refused too.
		if who == "eve" {
			auth.remove("victim")
		}
		n, err := srv.Revoke(r.Context(), "", who)
		if err != nil || n == 0 {
			http.Error(w, "nothing revoked", http.StatusNotFound)
		}
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		ts.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	var res struct {
		Checks       map[string]bool `json:"checks"`
		WriterText   string          `json:"writerText"`
		ViewerText   string          `json:"viewerText"`
		FreshText    string          `json:"freshText"`
		VictimCloses []int           `json:"victimCloses"`
		AnonCloses   []int           `json:"anonCloses"`
	}
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/sync"
	runScenario(t, "readonly", url, &res, "--admin", ts.URL+"/admin")
	for _, name := range []string{"viewerPresenceSeen", "writerClean", "viewerStillConnected", "serverClean",
		"revokeCalled", "revokedWith4403", "revokedStaysOff", "anonWith4401", "anonStaysOff"} {
		assert.True(t, res.Checks[name], "check %s", name)
	}
	assert.Equal(t, "hello world", res.WriterText)
	assert.Contains(t, res.ViewerText, "LIVE", "the viewer kept its own edits locally")
	assert.Equal(t, []int{4403}, res.VictimCloses)
	assert.Equal(t, []int{4401}, res.AnonCloses)

	// On disk: nothing from bob, and replaying the log gives the writer's text.
	docs, err := store.Docs(context.Background())
	require.NoError(t, err)
	require.Len(t, docs, 1)
	recs, err := store.History(context.Background(), docs[0].Name, 0, 0)
	require.NoError(t, err)
	d := crdt.NewDoc(crdt.Options{})
	for _, rec := range recs {
		assert.NotEqual(t, "bob", rec.User, "record %d is from the read-only principal", rec.Seq)
		require.NoError(t, d.ApplyUpdate(rec.Update))
	}
	assert.Equal(t, "hello world", d.ToJSON()["t"])
}
