package main

// Crash test of `tandem serve`: the real command runs as a child process (this test binary
// re-executed, see TestTandemChild), y-websocket clients edit one document through it, and the
// process is killed with SIGKILL at a random moment. Every update frame a client received from
// the server was broadcast after its fsync, so it must be in the document after a restart.
//
// Also in this file: the helpers the golden trace test (trace_test.go) shares: the child
// process, a minimal y-websocket client, and the coverage check.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/crdt/lib0"
	"github.com/tandemsync/tandem/persistence"
)

// quietLog discards the store's lifecycle messages in tests.
var quietLog = slog.New(slog.DiscardHandler)

var crashSeedFlag = flag.Uint64("crashseed", 0, "seed of TestServe_CrashKeepsBroadcastUpdates (0: $TANDEM_CRASH_SEED, else time-based)")

// childArgsEnv carries, as a JSON array, the arguments of the tandem command the child
// process runs.
const childArgsEnv = "TANDEM_CMD_CHILD_ARGS"

// TestTandemChild is not a test: it is the child process the crash and trace tests start. It
// runs main with the arguments in $TANDEM_CMD_CHILD_ARGS and exits with main's status.
func TestTandemChild(t *testing.T) {
	raw := os.Getenv(childArgsEnv)
	if raw == "" {
		return // not started as the child process: nothing to do, nothing to check
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintln(os.Stderr, "child args:", err)
		os.Exit(3)
	}
	os.Args = append([]string{"tandem"}, args...)
	main() // exits with 2 on error
	os.Exit(0)
}

// tandemCommand returns the command running `tandem args...` in a child process.
func tandemCommand(args ...string) *exec.Cmd {
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTandemChild$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(raw))
	return cmd
}

// runTandem runs `tandem args...` to completion and returns its stdout; the error includes
// stderr.
func runTandem(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := tandemCommand(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("tandem %s: %w\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// serveProc is a running `tandem serve` child process.
type serveProc struct {
	cmd  *exec.Cmd
	addr string // host:port it listens on
	done chan struct{}
	err  error // Wait's result, set before done is closed

	mu     sync.Mutex
	stderr bytes.Buffer
}

var listeningRE = regexp.MustCompile(`msg=listening .*?\baddr=(\S+)`)

// startServe starts `tandem serve --addr 127.0.0.1:0 --db db` and waits until /healthz
// answers. The process is killed when the test ends, if still running.
func startServe(t testing.TB, db string, extra ...string) *serveProc {
	t.Helper()
	cmd := tandemCommand(append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, extra...)...)
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	addrCh := make(chan string, 1)
	// The log reader ends at EOF, when the process exits; Wait (below) runs after it so that
	// the pipe is not closed under it.
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.stderr.Len() < 1<<20 {
				p.stderr.WriteString(line + "\n")
			}
			p.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil && !found {
				found = true
				addrCh <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case p.addr = <-addrCh:
	case <-p.done:
		t.Fatalf("tandem serve exited before listening: %v\n%s", p.err, p.log())
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("tandem serve did not start listening\n%s", p.log())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			t.Fatalf("tandem serve not healthy: %v\n%s", err, p.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// interrupt sends SIGINT (graceful shutdown) and returns the exit error.
func (p *serveProc) interrupt(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.kill()
		return errors.New("tandem serve did not stop after SIGINT")
	}
}

// getState fetches the document's full state (a v1 update) over the HTTP API.
func (p *serveProc) getState(doc string) ([]byte, error) {
	resp, err := http.Get("http://" + p.addr + "/api/docs/" + doc + "/update")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET state: %s: %s", resp.Status, b)
	}
	return b, nil
}

// y-websocket framing (message type, sync sub-type).
const (
	msgSync   = 0
	subStep1  = 0
	subStep2  = 1
	subUpdate = 2
)

// syncMsg encodes a sync message: 00 sub varUint8Array(payload).
func syncMsg(sub uint64, payload []byte) []byte {
	var e lib0.Encoder
	e.WriteVarUint(msgSync)
	e.WriteVarUint(sub)
	e.WriteVarUint8Array(payload)
	return e.Bytes()
}

// wsPeer is a minimal y-websocket client: one read loop that hands every sync message to a
// handler, and serialized writes.
type wsPeer struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	done   chan struct{} // closed when the read loop ends
	synced chan struct{} // closed at the first step 2 received
}

// syncHandler gets each sync message (sub-type and payload) on the read loop's goroutine.
type syncHandler func(p *wsPeer, sub uint64, payload []byte)

// dialPeer connects to ws://addr/sync/doc, starts the read loop and sends step 1 with sv.
func dialPeer(ctx context.Context, addr, doc string, sv []byte, h syncHandler) (*wsPeer, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, "ws://"+addr+"/sync/"+doc, nil)
	if err != nil {
		return nil, err
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	ws.SetReadLimit(256 << 20)
	p := &wsPeer{ws: ws, done: make(chan struct{}), synced: make(chan struct{})}
	// The read loop ends when the connection fails or is closed (close).
	go p.readLoop(h)
	if err := p.send(syncMsg(subStep1, sv)); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *wsPeer) readLoop(h syncHandler) {
	defer close(p.done)
	gotStep2 := false
	for {
		mt, data, err := p.ws.ReadMessage()
		if err != nil {
			return
		}
		if mt != websocket.BinaryMessage {
			continue
		}
		d := lib0.NewDecoder(data)
		typ, err := d.ReadVarUint()
		if err != nil || typ != msgSync {
			continue // awareness, auth: not needed here
		}
		sub, err := d.ReadVarUint()
		if err != nil {
			continue
		}
		payload, err := d.ReadVarUint8Array()
		if err != nil {
			continue
		}
		h(p, sub, bytes.Clone(payload))
		if sub == subStep2 && !gotStep2 {
			gotStep2 = true
			close(p.synced)
		}
	}
}

// send writes one binary frame.
func (p *wsPeer) send(frame []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return p.ws.WriteMessage(websocket.BinaryMessage, frame)
}

// close closes the connection and waits for the read loop.
func (p *wsPeer) close() {
	p.wmu.Lock()
	_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	p.wmu.Unlock()
	p.ws.Close()
	<-p.done
}

// waitSynced waits for the first step 2 or the end of the connection.
func (p *wsPeer) waitSynced(timeout time.Duration) error {
	select {
	case <-p.synced:
		return nil
	case <-p.done:
		return errors.New("connection ended before sync")
	case <-time.After(timeout):
		return errors.New("no sync step 2 in time")
	}
}

// emptyStep2 is the step 2 of a client with nothing to add: an update without structs or
// deletes.
var emptyStep2 = syncMsg(subStep2, []byte{0, 0})

// received collects the payloads of update messages (00 02) clients got from the server:
// each was broadcast after the server's store acknowledged it.
type received struct {
	mu      sync.Mutex
	updates [][]byte
}

func (r *received) add(u []byte) {
	r.mu.Lock()
	r.updates = append(r.updates, u)
	r.mu.Unlock()
}

func (r *received) all() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.updates...)
}

// checkCovered fails unless every update in ups is contained in state: applying them to a
// document loaded from state advances no client's clock, leaves nothing pending and changes
// no byte of the encoded state (so their deletions are there too).
func checkCovered(t testing.TB, what string, state []byte, ups [][]byte) {
	t.Helper()
	d := crdt.NewDoc(crdt.Options{})
	require.NoError(t, d.ApplyUpdate(state), "%s: state does not load", what)
	before, err := d.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
	sv0 := d.EncodeStateVector()
	for i, u := range ups {
		require.NoError(t, d.ApplyUpdate(u), "%s: received update %d does not apply", what, i)
		if sv := d.EncodeStateVector(); !bytes.Equal(sv, sv0) {
			t.Fatalf("%s: received update %d of %d (%d bytes) is missing: state vector %v → %v",
				what, i, len(ups), len(u), mustSV(t, sv0), mustSV(t, sv))
		}
		if s, ds := d.HasPending(); s || ds {
			t.Fatalf("%s: received update %d of %d depends on something missing (pending structs %v, deletes %v)", what, i, len(ups), s, ds)
		}
	}
	after, err := d.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
	if !bytes.Equal(before, after) {
		t.Fatalf("%s: the received updates change the state (%d → %d bytes): a deletion is missing", what, len(before), len(after))
	}
}

func mustSV(t testing.TB, b []byte) crdt.StateVector {
	sv, err := crdt.DecodeStateVector(b)
	require.NoError(t, err)
	return sv
}

// crashSeed picks the seed: -crashseed, then $TANDEM_CRASH_SEED, then the clock.
func crashSeed(t *testing.T) uint64 {
	seed := *crashSeedFlag
	if seed == 0 {
		if s := os.Getenv("TANDEM_CRASH_SEED"); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			require.NoError(t, err, "TANDEM_CRASH_SEED")
			seed = v
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("crash seed %d (rerun with -crashseed=%d or TANDEM_CRASH_SEED=%d)", seed, seed, seed)
	return seed
}

// crashWriter is a client that edits the text "t" of its own crdt.Doc and sends each local
// transaction as an update message. Its document outlives connections: after a restart it
// answers the server's step 1 with whatever the server lost, as y-websocket does.
type crashWriter struct {
	mu   sync.Mutex // guards doc and out
	doc  *crdt.Doc
	out  [][]byte // local updates of the current transaction, to send after unlocking
	rng  *rand.Rand
	sent int
}

// local marks transactions made by the writer itself.
type local struct{}

func newCrashWriter(seed uint64) *crashWriter {
	w := &crashWriter{doc: crdt.NewDoc(crdt.Options{}), rng: rand.New(rand.NewPCG(seed, 7))}
	w.doc.OnUpdate(func(u []byte, origin any) {
		if _, ok := origin.(local); ok {
			w.out = append(w.out, bytes.Clone(u))
		}
	})
	return w
}

// handle applies what the server sends and answers its step 1.
func (w *crashWriter) handle(rec *received) syncHandler {
	return func(p *wsPeer, sub uint64, payload []byte) {
		switch sub {
		case subStep1:
			w.mu.Lock()
			diff, err := w.doc.EncodeStateAsUpdate(payload)
			w.mu.Unlock()
			if err == nil {
				_ = p.send(syncMsg(subStep2, diff))
			}
		case subStep2, subUpdate:
			if sub == subUpdate {
				rec.add(payload)
			}
			w.mu.Lock()
			_ = w.doc.ApplyUpdateWithOrigin(payload, "remote")
			w.mu.Unlock()
		}
	}
}

// edit makes one random local edit and sends its update; it returns the send error.
func (w *crashWriter) edit(p *wsPeer) error {
	w.mu.Lock()
	text := w.doc.Text("t")
	n := text.Len()
	w.doc.Transact(local{}, func(tx *crdt.Transaction) {
		if n > 10 && w.rng.IntN(4) == 0 {
			i := w.rng.IntN(n - 3)
			text.Delete(tx, i, 1+w.rng.IntN(3))
			return
		}
		s := strings.Repeat(string(rune('a'+w.rng.IntN(26))), 1+w.rng.IntN(4))
		text.Insert(tx, w.rng.IntN(n+1), s, nil)
	})
	out := w.out
	w.out = nil
	w.mu.Unlock()
	for _, u := range out {
		if err := p.send(syncMsg(subUpdate, u)); err != nil {
			return err
		}
		w.sent++
	}
	return nil
}

func (w *crashWriter) stateVector() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.doc.EncodeStateVector()
}

// checkStore checks the file of a stopped server: `tandem replay --verify` passes, and the
// document loads and contains every received update. It returns the loaded state.
func checkStore(t *testing.T, db, doc string, ups [][]byte) []byte {
	t.Helper()
	out, err := runTandem(t, "replay", "--db", db, "--doc", doc, "--verify")
	require.NoError(t, err)
	require.Regexp(t, `^ok: `+doc+`: replayed \d+ records`, out)
	s, err := persistence.Open(db, persistence.Options{ReadOnly: true, Logger: quietLog})
	require.NoError(t, err, "the bbolt file opens")
	defer s.Close()
	d, _, err := persistence.LoadDoc(context.Background(), s, doc, crdt.Options{})
	require.NoError(t, err)
	state, err := d.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
	checkCovered(t, "store after kill", state, ups)
	return state
}

func TestServe_CrashKeepsBroadcastUpdates(t *testing.T) {
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	iterations := 5
	if testing.Short() {
		iterations = 3
	}
	if s := os.Getenv("TANDEM_CRASH_ITERS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "TANDEM_CRASH_ITERS")
		iterations = n
	}
	const (
		doc      = "crash"
		nWriters = 3
		nReaders = 2
	)
	db := filepath.Join(t.TempDir(), "t.db")
	ctx := context.Background()
	rec := &received{}
	writers := make([]*crashWriter, nWriters)
	for i := range writers {
		writers[i] = newCrashWriter(seed + uint64(i) + 1)
	}

	srv := startServe(t, db)
	for it := range iterations {
		before := len(rec.all())
		// Readers first, so they see the writers' updates from the start.
		var peers []*wsPeer
		for range nReaders {
			p, err := dialPeer(ctx, srv.addr, doc, []byte{0}, func(p *wsPeer, sub uint64, payload []byte) {
				switch sub {
				case subStep1:
					_ = p.send(emptyStep2)
				case subUpdate:
					rec.add(payload)
				}
			})
			require.NoError(t, err)
			require.NoError(t, p.waitSynced(10*time.Second))
			peers = append(peers, p)
		}
		wpeers := make([]*wsPeer, nWriters)
		for i, w := range writers {
			p, err := dialPeer(ctx, srv.addr, doc, w.stateVector(), w.handle(rec))
			require.NoError(t, err)
			require.NoError(t, p.waitSynced(10*time.Second))
			wpeers[i] = p
			peers = append(peers, p)
		}
		var wg sync.WaitGroup
		for i, w := range writers {
			pause := time.Duration(rng.IntN(3000)) * time.Microsecond
			wg.Add(1)
			// Each writer edits until its connection fails (the server is killed).
			go func() {
				defer wg.Done()
				for w.edit(wpeers[i]) == nil {
					time.Sleep(pause)
				}
			}()
		}
		killAfter := time.Duration(50+rng.IntN(1200)) * time.Millisecond
		time.Sleep(killAfter)
		srv.kill()
		if os.Getenv("TANDEM_CRASH_LOG") != "" {
			t.Log(srv.log()) // the server's log up to the kill
		}
		wg.Wait()
		for _, p := range peers {
			p.close()
		}
		ups := rec.all()
		sent := 0
		for _, w := range writers {
			sent += w.sent
		}
		t.Logf("iteration %d: killed after %v; %d updates sent so far, %d broadcasts received (%d this time)",
			it, killAfter, sent, len(ups), len(ups)-before)

		// The file as the kill left it.
		stored := checkStore(t, db, doc, ups)

		// Restarted on the same file, the server serves all of it.
		srv = startServe(t, db)
		state, err := srv.getState(doc)
		require.NoError(t, err)
		checkCovered(t, "restarted server", state, ups)
		assert.Equal(t, mustSV(t, stateVectorOf(t, stored)), mustSV(t, stateVectorOf(t, state)), "restarted server serves the stored state")
	}
	require.NotEmpty(t, rec.all(), "no broadcast was received: the test checked nothing")

	// The writers reconnect and resend what the kills lost; then everyone converges, also
	// after a graceful stop.
	var wpeers []*wsPeer
	for _, w := range writers {
		p, err := dialPeer(ctx, srv.addr, doc, w.stateVector(), w.handle(rec))
		require.NoError(t, err)
		require.NoError(t, p.waitSynced(10*time.Second))
		wpeers = append(wpeers, p)
	}
	require.Eventually(t, func() bool {
		state, err := srv.getState(doc)
		if err != nil {
			return false
		}
		sv := mustSV(t, stateVectorOf(t, state))
		for _, w := range writers {
			for c, k := range mustSV(t, w.stateVector()) {
				if sv[c] < k {
					return false
				}
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond, "the server has every writer's edits after resync")
	state, err := srv.getState(doc)
	require.NoError(t, err)
	final := crdt.NewDoc(crdt.Options{})
	require.NoError(t, final.ApplyUpdate(state))
	want := final.Text("t").String()
	require.Eventually(t, func() bool {
		for _, w := range writers {
			w.mu.Lock()
			s := w.doc.Text("t").String()
			w.mu.Unlock()
			if s != want {
				return false
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond, "the writers converge on the server's text")
	for _, p := range wpeers {
		p.close()
	}
	require.NoError(t, srv.interrupt(20*time.Second), "graceful stop\n%s", srv.log())
	out, err := runTandem(t, "replay", "--db", db, "--doc", doc, "--format", "json")
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, want, got["t"], "replayed text equals the converged text")
	checkStore(t, db, doc, rec.all())
}

// stateVectorOf returns the state vector of a full state update.
func stateVectorOf(t testing.TB, state []byte) []byte {
	t.Helper()
	d := crdt.NewDoc(crdt.Options{})
	require.NoError(t, d.ApplyUpdate(state))
	return d.EncodeStateVector()
}
