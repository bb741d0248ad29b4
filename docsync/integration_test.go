package docsync_test

// Integration tests with real Yjs clients: each test starts a docsync.Server on a loopback
// port and runs a Node script from testdata/js that drives y-websocket WebsocketProvider clients
// (yjs 13.6.33, y-websocket 3.1.0, pinned by testdata/js/package-lock.json) against it. The
// script prints one JSON result; the test checks it field by field.
//
// The scripts need node and `npm ci` in testdata/js. Without them the tests skip, except when
// CI=true, where they fail.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

// scenarioTimeout bounds one scenario script (each also stops itself after 25 s).
const scenarioTimeout = 30 * time.Second

// jsDir is where the scenario scripts and their node_modules live.
var jsDir = filepath.Join("testdata", "js")

// requireNode skips the test when node or the npm packages are missing, or fails it in CI.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "y-websocket", "package.json")); err != nil {
			missing = "npm packages are not installed (run `npm ci` in docsync/testdata/js)"
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("integration test needs Yjs clients: %s", missing)
		}
		t.Skipf("skipping integration test: %s", missing)
	}
	return node
}

// syncBuffer is a goroutine-safe log sink; its content is printed when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs a docsync.Server (in-memory store) on 127.0.0.1 and returns the serverUrl a
// y-websocket provider takes: ws://127.0.0.1:PORT/sync.
func startServer(t *testing.T, opts docsync.Options) string {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := docsync.New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx), "Shutdown")
		ts.Close()
		assert.NoError(t, srv.Close(), "Close")
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/sync"
}

// runScenario runs testdata/js/<name>.mjs against url and decodes its JSON result into out.
// It returns the raw JSON for messages. A script exits 1 when its own checks fail; the result
// is still decoded, so the caller's assertions say which check failed.
func runScenario(t *testing.T, name, url string, out any, extra ...string) string {
	t.Helper()
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	args := append([]string{name + ".mjs", "--url", url}, extra...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = jsDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s.mjs ran for %v", name, time.Since(start).Round(time.Millisecond))
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running %s.mjs: %v\nstderr:\n%s", name, err, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("%s.mjs did not finish within %v\nstderr:\n%s", name, scenarioTimeout, stderr.String())
	}
	line := bytes.TrimSpace(stdout.Bytes())
	var head struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal(line, &head); jerr != nil {
		t.Fatalf("%s.mjs printed no JSON result (%v): %q\nstderr:\n%s", name, jerr, line, stderr.String())
	}
	if head.Error != "" {
		t.Fatalf("%s.mjs failed: %s\nstderr:\n%s", name, head.Error, stderr.String())
	}
	require.NoError(t, json.Unmarshal(line, out), "decoding %s.mjs result", name)
	if !head.OK {
		t.Errorf("%s.mjs reports failed checks: %s\nstderr:\n%s", name, line, stderr.String())
	}
	return string(line)
}

func TestIntegration_ConcurrentTypingConverges(t *testing.T) {
	url := startServer(t, docsync.Options{})
	var res struct {
		Clients          int            `json:"clients"`
		CharsPerClient   int            `json:"charsPerClient"`
		Text             string         `json:"text"`
		Counts           map[string]int `json:"counts"`
		ServerText       string         `json:"serverText"`
		RichAgree        bool           `json:"richAgree"`
		ServerRichAgrees bool           `json:"serverRichAgrees"`
		FormattedRuns    int            `json:"formattedRuns"`
		ArrayLength      int            `json:"arrayLength"`
		Disconnects      int            `json:"disconnects"`
		ConvergeMs       int            `json:"convergeMs"`
	}
	runScenario(t, "concurrent", url, &res, "--clients", "8", "--chars", "40")
	require.Equal(t, 8, res.Clients)
	assert.Equal(t, 2+8*40, utf8.RuneCountInString(res.Text), "every typed character is in the converged text")
	assert.True(t, strings.HasPrefix(res.Text, "[") && strings.HasSuffix(res.Text, "]"), "brackets stay around the typing spot: %q", res.Text)
	// Client i typed letters[i]; the last two type non-ASCII characters (UTF-16 lengths 1 and 2).
	letters := []string{"a", "b", "c", "d", "e", "f", "é", "😀"}
	for i, l := range letters {
		assert.Equal(t, res.CharsPerClient, res.Counts[l], "characters of client %d (%s)", i, l)
	}
	assert.Equal(t, res.Text, res.ServerText, "a fresh client receives the converged text")
	assert.True(t, res.RichAgree, "after concurrent formatting, array and map edits, all clients agree")
	assert.True(t, res.ServerRichAgrees, "a fresh client receives the same formatted text, array and map")
	assert.Positive(t, res.FormattedRuns, "formatting survived")
	assert.Equal(t, 16, res.ArrayLength, "every client's two array elements")
	assert.Zero(t, res.Disconnects, "no client was disconnected")
	t.Logf("8 clients converged %d ms after the last keystroke", res.ConvergeMs)
}

func TestIntegration_OfflineEditsSurviveReconnect(t *testing.T) {
	url := startServer(t, docsync.Options{})
	var res struct {
		Checks     map[string]bool `json:"checks"`
		Text       string          `json:"text"`
		ServerText string          `json:"serverText"`
		Map        map[string]any  `json:"map"`
		ServerMap  map[string]any  `json:"serverMap"`
	}
	runScenario(t, "offline", url, &res)
	for _, name := range []string{"hasOfflineInsert", "offlineDeleteKept", "allAppendsFromA", "allFromB", "allFromC", "mapMerged", "mapsAgree", "serverAgrees"} {
		assert.True(t, res.Checks[name], "check %s (text %q)", name, res.Text)
	}
	assert.Equal(t, res.Text, res.ServerText)
	assert.Equal(t, res.Map, res.ServerMap)
	assert.Equal(t, map[string]any{"title": "before", "offline": true}, res.Map)
}

func TestIntegration_LateJoinerGetsFullState(t *testing.T) {
	url := startServer(t, docsync.Options{})
	var res struct {
		Checks               map[string]bool `json:"checks"`
		TextLength           int             `json:"textLength"`
		LateTextLength       int             `json:"lateTextLength"`
		AfterLeaveTextLength int             `json:"afterLeaveTextLength"`
		MapKeys              int             `json:"mapKeys"`
	}
	runScenario(t, "latejoin", url, &res, "--chars", "2000", "--big", "1048576")
	assert.Greater(t, res.TextLength, 1<<20+1500, "the writers' text: typing plus a 1 MiB paste")
	assert.Equal(t, 20, res.MapKeys)
	assert.True(t, res.Checks["lateWhileConnected"], "joiner while writers are connected: %d of %d chars", res.LateTextLength, res.TextLength)
	assert.True(t, res.Checks["lateAfterAllLeft"], "joiner after all writers left: %d of %d chars", res.AfterLeaveTextLength, res.TextLength)
}

func TestIntegration_AwarenessPresenceAndRemoval(t *testing.T) {
	url := startServer(t, docsync.Options{})
	var res struct {
		Checks    map[string]bool `json:"checks"`
		AllSeeMs  int             `json:"allSeeMs"`
		UpdateMs  int             `json:"updateMs"`
		RemovalMs *int            `json:"removalMs"`
		LeaveMs   *int            `json:"leaveMs"`
		NamesSeen []string        `json:"namesSeen"`
	}
	runScenario(t, "awareness", url, &res, "--clients", "4")
	assert.Equal(t, []string{"user0", "user1", "user2", "user3"}, res.NamesSeen, "client 1 sees every state")
	if assert.NotNil(t, res.RemovalMs, "the killed client's state was never removed") {
		// The awareness timeout alone would take 30 s; the server must broadcast the removal
		// when the socket dies.
		assert.Less(t, *res.RemovalMs, 5000, "killed client removed promptly")
		t.Logf("killed client's awareness removed after %d ms", *res.RemovalMs)
	}
	assert.NotNil(t, res.LeaveMs, "a client that disconnected is removed")
	assert.True(t, res.Checks["survivorsSeeEachOther"], "the remaining clients still see each other")
}

// hostileCase is one raw-socket attack reported by hostile.mjs.
type hostileCase struct {
	Case      string `json:"case"`
	Code      *int   `json:"code"`
	Reason    string `json:"reason"`
	ClosedMs  *int   `json:"closedMs"`
	StillOpen bool   `json:"stillOpen"`
}

func TestIntegration_HostileSocketsDoNotHurtHonestClients(t *testing.T) {
	url := startServer(t, docsync.Options{})
	var res struct {
		Checks            map[string]bool `json:"checks"`
		Typed             []int           `json:"typed"`
		HonestDisconnects int             `json:"honestDisconnects"`
		Cases             []hostileCase   `json:"cases"`
	}
	runScenario(t, "hostile", url, &res)
	assert.Zero(t, res.HonestDisconnects, "honest clients were dropped")
	assert.True(t, res.Checks["honestComplete"], "honest clients' text holds all they typed (%v)", res.Typed)
	assert.True(t, res.Checks["serverAgrees"], "a fresh client gets the honest clients' text")

	// y-protocols violations: a 4400-4499 close, so that a y-websocket client would not retry.
	protocol := map[string]bool{
		"garbageVarUint": true, "truncatedUpdate": true, "truncatedStep1": true, "textFrame": true,
		"malformedUpdate": true, "badContentRef": true, "unknownSyncType": true,
		"invalidAwarenessJSON": true, "awarenessTruncated": true, "unknownMessageType": true,
		"emptyFrame": true,
	}
	// Broken WebSocket framing: the connection must be dropped (gorilla closes with 1002 or
	// just drops the TCP connection); any code is fine.
	framing := map[string]bool{"unmaskedFrame": true, "reservedOpcode": true, "truncatedWsFrame": true}
	seen := 0
	for _, c := range res.Cases {
		switch {
		case protocol[c.Case]:
			seen++
			if assert.False(t, c.StillOpen, "%s: connection left open", c.Case) && assert.NotNil(t, c.Code, c.Case) {
				assert.True(t, *c.Code >= 4400 && *c.Code <= 4499, "%s: close code %d (%q), want 4400-4499", c.Case, *c.Code, c.Reason)
			}
		case framing[c.Case]:
			seen++
			assert.False(t, c.StillOpen, "%s: connection left open", c.Case)
		default:
			t.Errorf("unexpected case %q", c.Case)
		}
		if c.Code != nil {
			t.Logf("%-22s closed with %d %q", c.Case, *c.Code, c.Reason)
		}
	}
	assert.Equal(t, len(protocol)+len(framing), seen, "every attack was reported")
}

// storeServer is a docsync.Server over a bbolt store, served on a fixed listener address so
// that a restarted instance is reachable at the same URL.
type storeServer struct {
	srv   *docsync.Server
	store *persistence.Store
	http  *http.Server
	done  chan struct{}
}

func startStoreServer(t *testing.T, addr, dbPath string, logs *syncBuffer) *storeServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := persistence.Open(dbPath, persistence.Options{NoSync: true, Logger: log})
	require.NoError(t, err)
	srv, err := docsync.New(docsync.Options{Store: store, Logger: log})
	require.NoError(t, err)
	var ln net.Listener
	// The old listener's port is free again at once on Linux, but allow a moment elsewhere.
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err)
	s := &storeServer{srv: srv, store: store, http: &http.Server{Handler: srv}, done: make(chan struct{})}
	// Serve returns when stop closes the http.Server; stop waits for it through done.
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s
}

// stop shuts down in the order tandem serve uses: HTTP, sync server (peers get 1001, pending
// appends are flushed), store.
func (s *storeServer) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	assert.NoError(t, s.http.Shutdown(ctx), "http Shutdown")
	<-s.done
	assert.NoError(t, s.srv.Shutdown(ctx), "docsync Shutdown")
	assert.NoError(t, s.srv.Close(), "docsync Close")
	assert.NoError(t, s.store.Close(), "store Close")
}

func TestIntegration_RestartWithStoreKeepsClientsInSync(t *testing.T) {
	node := requireNode(t)
	logs := &syncBuffer{}
	dbPath := filepath.Join(t.TempDir(), "tandem.db")
	// Pick a free port, then serve on it twice.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s := startStoreServer(t, addr, dbPath, logs)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.stop(t)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "restart.mjs", "--url", "ws://"+addr+"/sync")
	cmd.Dir = jsDir
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	expect := func(phase string) {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("restart.mjs ended before phase %q: %v\nstderr:\n%s", phase, lines.Err(), stderr.String())
		}
		var msg struct {
			Phase string `json:"phase"`
			Error string `json:"error"`
		}
		require.NoError(t, json.Unmarshal(lines.Bytes(), &msg), "line %q", lines.Text())
		require.Equal(t, phase, msg.Phase, "restart.mjs said %s", lines.Text())
	}

	expect("ready")
	s.stop(t)
	stopped = true
	_, err = io.WriteString(stdin, "down\n")
	require.NoError(t, err)
	expect("edited")
	s = startStoreServer(t, addr, dbPath, logs)
	stopped = false
	_, err = io.WriteString(stdin, "up\n")
	require.NoError(t, err)

	require.True(t, lines.Scan(), "restart.mjs printed no result; stderr:\n%s", stderr.String())
	var res struct {
		OK          bool            `json:"ok"`
		Error       string          `json:"error"`
		Checks      map[string]bool `json:"checks"`
		Before      string          `json:"before"`
		Text        string          `json:"text"`
		ServerText  string          `json:"serverText"`
		CloseCodes  [][]int         `json:"closeCodes"`
		ReconnectMs int             `json:"reconnectMs"`
	}
	require.NoError(t, json.Unmarshal(lines.Bytes(), &res), "line %q", lines.Text())
	_ = cmd.Wait()
	require.Empty(t, res.Error, "stderr:\n%s", stderr.String())
	for _, name := range []string{"keptBefore", "allOffline", "mapBoth", "serverAgrees"} {
		assert.True(t, res.Checks[name], "check %s: before %q, after %q, server %q", name, res.Before, res.Text, res.ServerText)
	}
	for i, codes := range res.CloseCodes {
		if assert.NotEmpty(t, codes, "client %d saw no close", i) {
			assert.Equal(t, 1001, codes[0], "client %d: shutdown closes with going away", i)
		}
	}
	t.Logf("clients resynced %d ms after the restart", res.ReconnectMs)
}
