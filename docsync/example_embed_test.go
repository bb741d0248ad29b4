package docsync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

// Example embeds Tandem in an application's own http.ServeMux under /collab/, with the
// application's token check deciding who may read and write. Browsers connect with
//
//	new WebsocketProvider('wss://app.example.com/collab/sync', 'notes', ydoc, {params: {token}})
func Example() {
	// The application's own sessions: token → user, and who may edit.
	sessions := map[string]docsync.Grant{
		"s3cret": {Principal: "alice", Access: docsync.AccessReadWrite},
		"guest":  {Principal: "guest", Access: docsync.AccessReadOnly},
	}
	store := persistence.NewMemoryStore() // persistence.Open("app.db", …) in production
	defer store.Close()
	srv, err := docsync.New(docsync.Options{
		Store:  store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authenticate: func(ctx context.Context, r *http.Request, doc string) (docsync.Grant, error) {
			tok := docsync.TokenFromRequest(r, docsync.DefaultTokenSource)
			if tok == "" {
				return docsync.Grant{}, docsync.ErrUnauthenticated // 401 / close 4401
			}
			g, ok := sessions[tok]
			if !ok {
				return docsync.Grant{}, docsync.ErrForbidden // 403 / close 4403
			}
			return g, nil
		},
		Hooks: docsync.Hooks{
			OnUpdate: func(ctx context.Context, ev docsync.UpdateEvent) {
				// e.g. reindex ev.Doc; runs off the document's actor, with a timeout.
			},
		},
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "the app") })
	mux.Handle("/collab/", http.StripPrefix("/collab", srv))
	httpSrv := httptest.NewServer(mux) // &http.Server{Addr: …, Handler: mux} in production
	defer func() {
		httpSrv.Close() // http.Server.Shutdown(ctx) in production: it leaves WebSockets alone
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // closes peers with 1001, flushes, stops hooks
	}()

	// A y-websocket client (here a bare WebSocket) joins "notes" as alice.
	wsURL := "ws" + strings.TrimPrefix(httpSrv.URL, "http") + "/collab/sync/notes?token=s3cret"
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()

	// A server-side edit goes through the document's actor: it is stored, then sent to the
	// open socket.
	ctx := docsync.WithPrincipal(context.Background(), "importer")
	err = srv.Edit(ctx, "notes", func(tx *crdt.Transaction, d *crdt.Doc) {
		d.Text("body").Insert(tx, 0, "Hello from Go", nil)
	})
	fmt.Println("edit:", err)

	status := func(path, token string) string {
		req, _ := http.NewRequest(http.MethodGet, httpSrv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return string(b)
	}
	fmt.Println("guest reads:", status("/collab/api/docs/notes?root=body&format=text", "guest"))
	fmt.Println("no token:", status("/collab/api/docs/notes", ""))
	fmt.Println("bad token:", status("/collab/api/docs/notes", "nope"))
	fmt.Println("app route:", status("/", ""))
	// Output:
	// edit: <nil>
	// guest reads: Hello from Go
	// no token: 401 Unauthorized
	// bad token: 403 Forbidden
	// app route: the app
}
