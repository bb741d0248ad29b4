package docsync_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/crdt/lib0"
	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

// Connection tests: real WebSockets (gorilla's client) against a Server behind httptest.

const waitFor = 10 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestServer starts a Server with an in-memory store (unless opts.Store is set) and returns
// it with its ws:// base URL. Cleanup shuts both down and checks Shutdown succeeds.
func newTestServer(t *testing.T, opts docsync.Options) (*docsync.Server, string, *httptest.Server) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	var mem *persistence.MemoryStore
	if opts.Store == nil {
		mem = persistence.NewMemoryStore()
		opts.Store = mem
	}
	srv, err := docsync.New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ts.Close()
		assert.NoError(t, srv.Shutdown(ctx))
		if mem != nil {
			assert.NoError(t, mem.Close())
		}
	})
	return srv, "ws" + strings.TrimPrefix(ts.URL, "http"), ts
}

// frame helpers (the y-websocket encoding, written independently of docsync's own).
func syncFrame(sub byte, payload []byte) []byte {
	var e lib0.Encoder
	e.WriteVarUint(0)
	e.WriteVarUint(uint64(sub))
	e.WriteVarUint8Array(payload)
	return bytes.Clone(e.Bytes())
}

func awarenessFrame(client, clock uint64, json string) []byte {
	var u lib0.Encoder
	u.WriteVarUint(1)
	u.WriteVarUint(client)
	u.WriteVarUint(clock)
	u.WriteVarString(json)
	var e lib0.Encoder
	e.WriteVarUint(1)
	e.WriteVarUint8Array(u.Bytes())
	return bytes.Clone(e.Bytes())
}

type awEntry struct {
	client, clock uint64
	json          string
}

// event is one message a test client received.
type event struct {
	typ, sub uint64
	payload  []byte
	aw       []awEntry
}

// client is a minimal y-websocket provider in Go: it answers step 1 with step 2, applies step
// 2 and updates to its own crdt.Doc and records every message it receives.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	sendMu sync.Mutex
	mu     sync.Mutex
	doc    *crdt.Doc
	events []event
	synced bool
	closed chan struct{}
	// closeCode is the code of the close frame received (1006 if the connection dropped).
	closeCode int
}

func dial(t *testing.T, base, doc string) *client {
	t.Helper()
	c := dialNoSync(t, base, doc, 0)
	c.mu.Lock()
	sv := c.doc.EncodeStateVector()
	c.mu.Unlock()
	c.send(syncFrame(0, sv))
	return c
}

// dialNoSync connects without sending step 1. A non-zero clientID fixes the Yjs client id.
func dialNoSync(t *testing.T, base, doc string, clientID uint64) *client {
	t.Helper()
	return dialPrepared(t, base, doc, func(d *crdt.Doc) {}, clientID)
}

// dialPrepared connects with a document that prep edits first (offline edits), without
// sending step 1: the client answers the server's step 1 with its step 2.
func dialPrepared(t *testing.T, base, doc string, prep func(d *crdt.Doc), clientID ...uint64) *client {
	t.Helper()
	var id uint64
	if len(clientID) > 0 {
		id = clientID[0]
	}
	d := crdt.NewDoc(crdt.Options{ClientID: id})
	prep(d)
	ws, resp, err := websocket.DefaultDialer.Dial(base+"/sync/"+doc, nil)
	require.NoError(t, err)
	resp.Body.Close()
	c := &client{t: t, ws: ws, doc: d, closed: make(chan struct{})}
	// The reader ends when the connection does; t.Cleanup closes it and waits.
	go c.readLoop()
	t.Cleanup(func() {
		ws.Close()
		<-c.closed
	})
	return c
}

func (c *client) readLoop() {
	defer close(c.closed)
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			c.mu.Lock()
			if errors.As(err, &ce) {
				c.closeCode = ce.Code
			} else {
				c.closeCode = 1006
			}
			c.mu.Unlock()
			return
		}
		if !assert.Equal(c.t, websocket.BinaryMessage, typ, "server sent a text frame") {
			continue
		}
		c.handle(data)
	}
}

func (c *client) handle(data []byte) {
	d := lib0.NewDecoder(data)
	typ, err := d.ReadVarUint()
	if !assert.NoError(c.t, err) {
		return
	}
	ev := event{typ: typ}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch typ {
	case 0:
		ev.sub, _ = d.ReadVarUint()
		ev.payload, err = d.ReadVarUint8Array()
		assert.NoError(c.t, err)
		switch ev.sub {
		case 0:
			u, err := c.doc.EncodeStateAsUpdate(ev.payload)
			if assert.NoError(c.t, err) {
				// Reply from the reader goroutine, as the provider does (gorilla allows one
				// concurrent writer; send serialises with the test goroutine).
				go c.send(syncFrame(1, u))
			}
		case 1, 2:
			assert.NoError(c.t, c.doc.ApplyUpdate(ev.payload))
			if ev.sub == 1 {
				c.synced = true
			}
		}
	case 1:
		u, err := d.ReadVarUint8Array()
		assert.NoError(c.t, err)
		ud := lib0.NewDecoder(u)
		n, _ := ud.ReadVarUint()
		for i := uint64(0); i < n; i++ {
			id, _ := ud.ReadVarUint()
			clock, _ := ud.ReadVarUint()
			s, err := ud.ReadVarString()
			assert.NoError(c.t, err)
			ev.aw = append(ev.aw, awEntry{id, clock, s})
		}
	}
	assert.Zero(c.t, d.Remaining(), "one message per frame")
	c.events = append(c.events, ev)
}

// send writes one binary message. gorilla allows one writer per connection, and the client
// writes from its reader goroutine (step 2 replies) and the test's.
func (c *client) send(b []byte) {
	c.sendWith(func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.BinaryMessage, b) })
}

// sendWith runs write with the connection's write lock held; its error is ignored (a closed
// connection shows in closeCode).
func (c *client) sendWith(write func(ws *websocket.Conn) error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = write(c.ws)
}

// edit changes the client's doc and sends the update, as the provider does.
func (c *client) edit(fn func(d *crdt.Doc, tx *crdt.Transaction)) {
	c.mu.Lock()
	var u []byte
	cancel := c.doc.OnUpdate(func(b []byte, _ any) { u = b })
	c.doc.Transact(nil, func(tx *crdt.Transaction) { fn(c.doc, tx) })
	cancel()
	c.mu.Unlock()
	if assert.NotNil(c.t, u) { // assert: edit may run on a goroutine of the test
		c.send(syncFrame(2, u))
	}
}

func (c *client) insert(index int, s string) {
	c.edit(func(d *crdt.Doc, tx *crdt.Transaction) { d.Text("t").Insert(tx, index, s, nil) })
}

func (c *client) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, _ := c.doc.ToJSON()["t"].(string)
	return v
}

func (c *client) isSynced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.synced
}

func (c *client) eventsCopy() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.events...)
}

// waitClosed waits for the connection to end and returns the close code received.
// sawPresence returns a condition: c has received the awareness state json ("null":
// removed) for the client id.
func (c *client) sawPresence(id uint64, json string) func() bool {
	return func() bool {
		for _, ev := range c.eventsCopy() {
			for _, e := range ev.aw {
				if e.client == id && e.json == json {
					return true
				}
			}
		}
		return false
	}
}

func (c *client) waitClosed() int {
	select {
	case <-c.closed:
	case <-time.After(waitFor):
		c.t.Fatal("connection not closed")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}

func (c *client) waitSynced() {
	require.Eventually(c.t, c.isSynced, waitFor, 5*time.Millisecond, "client never got its step 2")
}

func TestServer_TwoClientsConverge(t *testing.T) {
	srv, base, _ := newTestServer(t, docsync.Options{})
	a := dial(t, base, "doc")
	b := dial(t, base, "doc")
	a.waitSynced()
	b.waitSynced()
	a.insert(0, "hello")
	b.insert(0, "world ")
	for i := 0; i < 20; i++ {
		a.insert(0, "a")
		b.insert(0, "b")
	}
	converged := assert.Eventually(t, func() bool { return a.text() == b.text() && len(a.text()) == len("hello")+len("world ")+40 },
		waitFor, 10*time.Millisecond)
	require.True(t, converged, "a=%q b=%q", a.text(), b.text())
	var serverText string
	require.NoError(t, srv.Read(context.Background(), "doc", func(d *crdt.Doc) error {
		serverText, _ = d.ToJSON()["t"].(string)
		return nil
	}))
	assert.Equal(t, a.text(), serverText)
}

func TestServer_LateJoinerGetsFullState(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{})
	a := dial(t, base, "doc")
	a.waitSynced()
	a.insert(0, "before")
	a.insert(6, " late join")
	// The server has integrated both when another step 1 round trip is answered.
	c := dial(t, base, "doc")
	require.Eventually(t, func() bool { return c.text() == "before late join" }, waitFor, 5*time.Millisecond, "got %q", c.text())
	// Offline edits of a joiner reach the others through its step 2.
	dialPrepared(t, base, "doc", func(d *crdt.Doc) {
		d.Transact(nil, func(tx *crdt.Transaction) { d.Text("x").Insert(tx, 0, "offline", nil) })
	})
	require.Eventually(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.doc.ToJSON()["x"] == "offline"
	}, waitFor, 5*time.Millisecond, "the server's step 1 made d send its step 2")
}

func TestServer_HostileFramesCloseOnlyThatConnection(t *testing.T) {
	tests := []struct {
		name string
		send func(ws *websocket.Conn) error
		code int
	}{
		{"garbage", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0xff, 0x01})
		}, 4400},
		{"text frame", func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.TextMessage, []byte("hi")) }, 4400},
		{"unknown type", func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.BinaryMessage, []byte{9}) }, 4400},
		{"truncated update", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.BinaryMessage, syncFrame(2, []byte{1, 1, 5, 0, 4}))
		}, 4400},
		{"oversized", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.BinaryMessage, syncFrame(2, make([]byte, 4096)))
		}, 4413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base, _ := newTestServer(t, docsync.Options{MaxMessageBytes: 1024})
			good := dial(t, base, "doc")
			good.waitSynced()
			bad := dialNoSync(t, base, "doc", 0)
			// The write itself may fail: the server can close before an oversized message
			// has been written completely. The close code is the verdict.
			bad.sendWith(tt.send)
			assert.Equal(t, tt.code, bad.waitClosed())
			// The document and the other peer carry on.
			good.insert(0, "still fine")
			other := dial(t, base, "doc")
			require.Eventually(t, func() bool { return other.text() == "still fine" }, waitFor, 5*time.Millisecond)
		})
	}
}

func TestServer_AwarenessRemovedOnDisconnect(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{})
	a := dial(t, base, "doc")
	b := dial(t, base, "doc")
	a.waitSynced()
	b.waitSynced()
	a.send(awarenessFrame(4242, 1, `{"user":"a"}`))
	hasEntry := func(c *client, want awEntry) func() bool {
		return func() bool {
			for _, ev := range c.eventsCopy() {
				for _, e := range ev.aw {
					if e == want {
						return true
					}
				}
			}
			return false
		}
	}
	require.Eventually(t, hasEntry(b, awEntry{4242, 1, `{"user":"a"}`}), waitFor, 5*time.Millisecond)
	require.Eventually(t, hasEntry(a, awEntry{4242, 1, `{"user":"a"}`}), waitFor, 5*time.Millisecond, "echoed to the sender")
	// A newcomer gets the current states right after the server's step 1.
	c := dialNoSync(t, base, "doc", 0)
	require.Eventually(t, hasEntry(c, awEntry{4242, 1, `{"user":"a"}`}), waitFor, 5*time.Millisecond)
	// a's tab closes without a word: the server removes and announces its client.
	a.ws.Close()
	require.Eventually(t, hasEntry(b, awEntry{4242, 1, "null"}), waitFor, 5*time.Millisecond)
	require.Eventually(t, hasEntry(c, awEntry{4242, 1, "null"}), waitFor, 5*time.Millisecond)
}

// slowDialer dials with a small receive buffer (still above the loopback MSS, or TCP stalls), so that a client that stops reading makes the
// server's writes block soon.
func slowDialer() *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			_ = conn.(*net.TCPConn).SetReadBuffer(128 << 10)
		}
		return conn, err
	}}
}

// dialFastAndSlow connects a synced client to "doc", then a raw socket with a small receive
// buffer that announces the presence state for client id and is never read (closed when the
// test ends).
func dialFastAndSlow(t *testing.T, base string, id uint64, state string) (*client, *websocket.Conn) {
	t.Helper()
	fast := dial(t, base, "doc")
	fast.waitSynced()
	slow, resp, err := slowDialer().Dial(base+"/sync/doc", nil)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { slow.Close() })
	require.NoError(t, slow.WriteMessage(websocket.BinaryMessage, awarenessFrame(id, 1, state)))
	return fast, slow
}

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServer_SlowPeerClosedWith1013(t *testing.T) {
	logs := &syncBuf{}
	srv, base, _ := newTestServer(t, docsync.Options{SendQueueLen: 4, SendQueueBytes: 256 << 10, WriteTimeout: 30 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()
	// slow announces a presence, then reads nothing while fast sends updates, until the
	// server drops slow and fast sees slow's presence removed.
	fast, slow := dialFastAndSlow(t, base, 777, `{"slow":true}`)
	removed := fast.sawPresence(777, "null")
	// The flood starts once slow's presence is known, so that dropping slow must remove it.
	require.Eventually(t, fast.sawPresence(777, `{"slow":true}`), waitFor, 5*time.Millisecond, "slow's presence reaches fast")
	// A watcher starts reading slow's socket as soon as the removal is seen: what was queued
	// before the close, then the 1013 close frame.
	codec := make(chan int, 1)
	stop := make(chan struct{})
	go func() {
		for !removed() {
			select {
			case <-stop:
				if !removed() {
					codec <- -1
					return
				}
			case <-time.After(5 * time.Millisecond):
			}
		}
		t.Logf("%s removal seen", time.Now().Format("15:04:05.000"))
		_ = slow.SetReadDeadline(time.Now().Add(waitFor))
		for {
			_, _, err := slow.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					codec <- ce.Code
				} else {
					t.Logf("slow: %v", err)
					codec <- 0
				}
				return
			}
		}
	}()
	chunk := strings.Repeat("x", 32<<10)
	n := 0
	for ; n < 2000 && !removed(); n++ {
		fast.insert(0, chunk)
	}
	close(stop)
	code := <-codec
	require.True(t, removed(), "slow peer never dropped after %d updates", n)
	assert.Equal(t, 1013, code)
	// The document has every update fast sent.
	assert.Eventually(t, func() bool {
		var l int
		err := srv.Read(context.Background(), "doc", func(d *crdt.Doc) error {
			s, _ := d.ToJSON()["t"].(string)
			l = len(s)
			return nil
		})
		return err == nil && l == n*len(chunk)
	}, waitFor, 100*time.Millisecond)
}

// TestServer_StuckWriteDroppedByWatchdog: a peer that stops reading while its queue is still
// short is dropped after WriteTimeout without progress, by the connection's timer (writes
// carry no socket deadline), and its presence is removed.
func TestServer_StuckWriteDroppedByWatchdog(t *testing.T) {
	logs := &syncBuf{}
	const writeTimeout = 400 * time.Millisecond
	_, base, _ := newTestServer(t, docsync.Options{WriteTimeout: writeTimeout,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	fast, _ := dialFastAndSlow(t, base, 778, `{"stuck":true}`)
	require.Eventually(t, fast.sawPresence(778, `{"stuck":true}`), waitFor, 5*time.Millisecond)
	// 120 updates of 64 KiB: far more than the sockets buffer, far fewer frames than the
	// send queue holds, so slow's writer blocks and the queue never overflows.
	chunk := strings.Repeat("y", 64<<10)
	for i := 0; i < 120; i++ {
		fast.insert(0, chunk)
	}
	stalled := time.Now()
	require.Eventually(t, fast.sawPresence(778, "null"), waitFor, 10*time.Millisecond, "the stuck peer is dropped")
	t.Logf("dropped %v after the last update", time.Since(stalled))
	assert.Contains(t, logs.String(), "write timed out")
	assert.NotContains(t, logs.String(), "peer too slow", "dropped by the watchdog, not by the queue bound")
}

// TestServer_UpdatesAroundLingerTicks: updates sent with gaps around the writers' linger
// period (so that some find the writer lingering, some find it gone, and some race its
// tick) all arrive, in order.
func TestServer_UpdatesAroundLingerTicks(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{})
	w := dial(t, base, "doc")
	w.waitSynced()
	r := dial(t, base, "doc")
	r.waitSynced()
	rng := rand.New(rand.NewPCG(7, 7))
	want := ""
	for i := 0; i < 60; i++ {
		ch := string(rune('a' + i%26))
		w.insert(len(want), ch)
		want += ch
		time.Sleep(time.Duration(rng.IntN(70)) * time.Millisecond)
	}
	require.Eventually(t, func() bool { return r.text() == want }, waitFor, 10*time.Millisecond, "got %q", r.text())
}

// gatedStore delays Load until the gate is closed.
type gatedStore struct {
	docsync.Store
	gate   chan struct{}
	loads  chan string
	failOn string
}

func (g *gatedStore) Load(ctx context.Context, doc string) (*persistence.Loaded, error) {
	g.loads <- doc
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if doc == g.failOn {
		return nil, errors.New("disk on fire")
	}
	return g.Store.Load(ctx, doc)
}

func TestServer_LoadsBeforeAnswering(t *testing.T) {
	mem := persistence.NewMemoryStore()
	defer mem.Close()
	// Store some content first.
	pre := crdt.NewDoc(crdt.Options{ClientID: 5})
	var u []byte
	pre.OnUpdate(func(b []byte, _ any) { u = b })
	pre.Transact(nil, func(tx *crdt.Transaction) { pre.Text("t").Insert(tx, 0, "stored", nil) })
	acked := make(chan error, 1)
	mem.Append("doc", persistence.Record{Update: u}, func(_ uint64, err error) { acked <- err })
	require.NoError(t, <-acked)

	g := &gatedStore{Store: mem, gate: make(chan struct{}), loads: make(chan string, 10), failOn: "broken"}
	_, base, _ := newTestServer(t, docsync.Options{Store: g})
	c := dial(t, base, "doc")
	<-g.loads
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, c.eventsCopy(), "nothing is sent before the document has loaded")
	close(g.gate)
	c.waitSynced()
	evs := c.eventsCopy()
	require.NotEmpty(t, evs)
	assert.Equal(t, uint64(0), evs[0].sub, "the first message is the server's step 1")
	assert.Equal(t, []byte{1, 5, 6}, evs[0].payload, "its state vector includes the stored update")
	assert.Equal(t, "stored", c.text())

	// A failed load closes the joiner with 1011 (it retries), and leaves nothing behind.
	b := dialNoSync(t, base, "broken", 0)
	<-g.loads
	assert.Equal(t, 1011, b.waitClosed())
}

// waitGoroutines waits until no more goroutines run than baseline (polled on the test's own
// goroutine: testify's Eventually runs its condition on a goroutine of its own).
func waitGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServer_UnloadsAfterIdleTimeout(t *testing.T) {
	srv, base, _ := newTestServer(t, docsync.Options{IdleTimeout: 100 * time.Millisecond})
	// A first connection starts what a server keeps for all documents (on Linux, the
	// goroutine that parks quiet readers); the baseline counts it.
	warm := dial(t, base, "warm-up")
	warm.waitSynced()
	warm.ws.Close()
	<-warm.closed
	require.Eventually(t, func() bool { return len(srv.Loaded()) == 0 }, waitFor, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // its writer and reader end
	baseline := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		c := dial(t, base, "doc")
		c.waitSynced()
		c.insert(0, "x")
		assert.Equal(t, []string{"doc"}, srv.Loaded())
		c.ws.Close()
		<-c.closed
		require.Eventually(t, func() bool { return len(srv.Loaded()) == 0 }, waitFor, 10*time.Millisecond, "unloaded")
	}
	waitGoroutines(t, baseline)
	// The content survived three unloads.
	c := dial(t, base, "doc")
	require.Eventually(t, func() bool { return c.text() == "xxx" }, waitFor, 5*time.Millisecond)
}

func TestServer_RejectsBadNamesBeforeUpgrade(t *testing.T) {
	_, base, ts := newTestServer(t, docsync.Options{})
	for _, path := range []string{"/sync/", "/sync/a%2Fb", "/sync/a/b", "/sync/..", "/sync/" + strings.Repeat("a", 129), "/sync/%C3%A9"} {
		_, resp, err := websocket.DefaultDialer.Dial(base+path, nil)
		require.Error(t, err, path)
		if assert.NotNil(t, resp, path) {
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
			resp.Body.Close()
		}
	}
	resp, err := http.Get(ts.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	// Percent-encoded allowed characters name the same document.
	c := dial(t, base, "my-doc")
	c.waitSynced()
	c.insert(0, "same")
	d := dial(t, base, "my%2Ddoc")
	require.Eventually(t, func() bool { return d.text() == "same" }, waitFor, 5*time.Millisecond)
}

func TestServer_AuthorizeRefusesWithAuthMessageAnd4403(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{
		Authorize: func(_ context.Context, r *http.Request, doc string) (string, error) {
			switch r.URL.Query().Get("token") {
			case "good":
				return "alice", nil
			case "":
				return "", docsync.ErrUnauthenticated
			default:
				return "", errors.New("no access to " + doc)
			}
		},
	})
	for _, tc := range []struct {
		query string
		code  int
	}{{"?token=bad", 4403}, {"", 4401}} {
		ws, resp, err := websocket.DefaultDialer.Dial(base+"/sync/secret"+tc.query, nil)
		require.NoError(t, err, "refusals accept the upgrade")
		resp.Body.Close()
		_, msg, err := ws.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, byte(2), msg[0], "auth message first")
		_, _, err = ws.ReadMessage()
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.code, ce.Code)
		ws.Close()
	}
	ws, resp, err := websocket.DefaultDialer.Dial(base+"/sync/secret?token=good", nil)
	require.NoError(t, err)
	resp.Body.Close()
	_, msg, err := ws.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 1, 0}, msg, "step 1 of an empty document")
	ws.Close()
}

func TestServer_ShutdownClosesPeersWith1001AndFlushes(t *testing.T) {
	mem := persistence.NewMemoryStore()
	defer mem.Close()
	srv, err := docsync.New(docsync.Options{Store: mem, Logger: quietLogger()})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := "ws" + strings.TrimPrefix(ts.URL, "http")
	a := dial(t, base, "doc")
	a.waitSynced()
	a.insert(0, "durable")
	// Wait until the update went through the actor (a second client sees it).
	b := dial(t, base, "doc")
	require.Eventually(t, func() bool { return b.text() == "durable" }, waitFor, 5*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	assert.Equal(t, 1001, a.waitClosed())
	assert.Equal(t, 1001, b.waitClosed())
	assert.Empty(t, srv.Loaded())
	d, _, err := persistence.LoadDoc(context.Background(), mem, "doc", crdt.Options{})
	require.NoError(t, err)
	assert.Equal(t, "durable", d.ToJSON()["t"])
	// Joins are refused afterwards.
	_, resp, err := websocket.DefaultDialer.Dial(base+"/sync/doc", nil)
	require.Error(t, err)
	if resp != nil {
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		resp.Body.Close()
	}
	require.NoError(t, srv.Close())
}

func TestServer_ConcurrentTypingConverges(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{})
	letters := []string{"a", "b", "c", "d", "é", "😀"}
	const rounds = 30
	clients := make([]*client, len(letters))
	for i := range clients {
		clients[i] = dial(t, base, "doc")
		clients[i].waitSynced()
	}
	clients[0].insert(0, "[]")
	for _, c := range clients {
		require.Eventually(t, func() bool { return c.text() == "[]" }, waitFor, 5*time.Millisecond)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		// Each typist stops after its rounds; the test waits for all of them.
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				c.edit(func(d *crdt.Doc, tx *crdt.Transaction) {
					tt := d.Text("t")
					pos := 1
					if r%2 == 1 {
						pos = tt.Len() - 1
					}
					tt.Insert(tx, pos, letters[i], nil)
				})
				time.Sleep(time.Duration(r%3) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	want := 2
	for _, l := range letters {
		want += rounds * len(utf16.Encode([]rune(l)))
	}
	ok := assert.Eventually(t, func() bool {
		first := clients[0].text()
		for _, c := range clients {
			if s := c.text(); s != first || len(utf16.Encode([]rune(s))) != want {
				return false
			}
		}
		return true
	}, waitFor, 10*time.Millisecond)
	text := clients[0].text()
	require.True(t, ok, "did not converge: %q", text)
	for _, l := range letters {
		assert.Equal(t, rounds, strings.Count(text, l), "copies of %q", l)
	}
}

func TestServer_DeadPeerDroppedByPongTimeout(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{PingInterval: 100 * time.Millisecond, PongWait: time.Second})
	watcher := dial(t, base, "doc")
	watcher.waitSynced()
	// dead connects, announces itself, then never reads again, so it never answers a ping.
	dead, resp, err := websocket.DefaultDialer.Dial(base+"/sync/doc", nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer dead.Close()
	require.NoError(t, dead.WriteMessage(websocket.BinaryMessage, awarenessFrame(99, 1, `{"dead":true}`)))
	seen := func(json string) func() bool { return watcher.sawPresence(99, json) }
	require.Eventually(t, seen(`{"dead":true}`), waitFor, 5*time.Millisecond)
	start := time.Now()
	require.Eventually(t, seen("null"), waitFor, 10*time.Millisecond, "the silent peer is dropped and its presence removed")
	t.Logf("dropped after %v", time.Since(start))
	// The watcher reads, so it answers every ping and stays connected well past PongWait.
	time.Sleep(2 * time.Second)
	select {
	case <-watcher.closed:
		t.Fatalf("a peer answering pings was dropped (code %d)", watcher.closeCode)
	default:
	}
}
