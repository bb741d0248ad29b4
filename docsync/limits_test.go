package docsync_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/docsync"
)

// admitted dials url and returns the open connection if it was admitted (it got the server's
// step 1), or nil and the close code it was refused with.
func admitted(t *testing.T, url string) (*websocket.Conn, int) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(waitFor))
	_, msg, err := ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce)
		return nil, ce.Code
	}
	require.Equal(t, byte(0), msg[0], "step 1 first")
	return ws, 0
}

func TestLimits_ConnectionsPerDocAndTotal(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{MaxConnectionsPerDoc: 2, MaxConnections: 3})
	a1, code := admitted(t, base+"/sync/a")
	require.Zero(t, code)
	_, code = admitted(t, base+"/sync/a")
	require.Zero(t, code)
	_, code = admitted(t, base+"/sync/a")
	assert.Equal(t, 1013, code, "third connection to one document: retry later")
	_, code = admitted(t, base+"/sync/b")
	require.Zero(t, code, "another document is still fine")
	_, code = admitted(t, base+"/sync/c")
	assert.Equal(t, 1013, code, "fourth connection to the server: retry later")

	// A slot frees when a connection ends.
	a1.Close()
	require.Eventually(t, func() bool {
		ws, code := admitted(t, base+"/sync/a")
		if ws != nil {
			ws.Close()
		}
		return code == 0
	}, waitFor, 20*time.Millisecond)
}

func TestLimits_DocumentSize(t *testing.T) {
	srv, base, ts := newTestServer(t, docsync.Options{MaxDocumentBytes: 400})
	c := dial(t, base, "doc")
	c.waitSynced()
	c.insert(0, strings.Repeat("a", 100))
	require.Eventually(t, func() bool {
		txt, err := srv.ReadText(context.Background(), "doc", "t")
		return err == nil && len(txt) == 100
	}, waitFor, 5*time.Millisecond)
	c.insert(0, strings.Repeat("b", 500))
	assert.Equal(t, 4413, c.waitClosed(), "an update past the document limit closes its sender for good")
	txt, err := srv.ReadText(context.Background(), "doc", "t")
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("a", 100), txt, "the refused update was not applied")

	big := textUpdate(5, strings.Repeat("c", 500))
	assert.ErrorIs(t, srv.ApplyUpdate(context.Background(), "doc", big), docsync.ErrTooLarge)
	code, _ := do(t, http.MethodPost, ts.URL+"/api/docs/doc/update", nil, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	// Small edits still fit.
	require.NoError(t, srv.ApplyUpdate(context.Background(), "doc", textUpdate(6, "z")))
}

func TestLimits_ByteRateClosesWithRetryLater(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{MaxByteRate: 2000, MaxThrottle: 300 * time.Millisecond})
	// Within the rate: three 1 KB awareness updates spread over time are fine.
	ok := dialNoSync(t, base, "doc", 0)
	pad := strings.Repeat("x", 1000)
	for i := 1; i <= 3; i++ {
		ok.send(awarenessFrame(10, uint64(i), `"`+pad+`"`))
		time.Sleep(600 * time.Millisecond)
	}
	// A flood: 20 KB at once is 10 s of budget.
	flood := dialNoSync(t, base, "doc", 0)
	for i := 1; i <= 20; i++ {
		flood.send(awarenessFrame(20, uint64(i), `"`+pad+`"`))
	}
	assert.Equal(t, 1013, flood.waitClosed())
	select {
	case <-ok.closed:
		t.Fatal("the client within its rate was closed")
	default:
	}
}

func TestLimits_MetricsCountRefusals(t *testing.T) {
	_, base, ts := newTestServer(t, docsync.Options{MaxConnectionsPerDoc: 1})
	_, code := admitted(t, base+"/sync/a")
	require.Zero(t, code)
	_, code = admitted(t, base+"/sync/a")
	require.Equal(t, 1013, code)
	status, body := get(t, ts.URL+"/metrics")
	require.Equal(t, 200, status)
	assert.Contains(t, string(body), `tandem_connections_refused_total{reason="too_many"} 1`)
	assert.Contains(t, string(body), `tandem_closes_total{code="1013",reason="too many connections"} 1`)
}
