package docsync_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/docsync"
)

// BenchmarkServer_IdleConnMemory opens 2,000 idle y-websocket connections to one document over
// loopback and reports the server's heap and stack bytes per connection (the HeapInuse +
// StackInuse delta divided by the count). The clients are raw sockets that complete the
// handshake, send a sync step 1 and never read, so they add well under 1 KiB each to the
// figure. Run it with
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 1x ./docsync
func BenchmarkServer_IdleConnMemory(b *testing.B) {
	const n = 2000
	for i := 0; i < b.N; i++ {
		perConn, goroutines := idleConnMemory(b, n, false)
		b.ReportMetric(perConn, "B/conn")
		b.ReportMetric(goroutines, "goroutines/conn")
	}
}

// BenchmarkServer_IdleDocMemory is BenchmarkServer_IdleConnMemory with each connection on a
// document of its own: it reports what an open, empty document and its one idle connection
// cost together.
//
//	go test -run '^$' -bench IdleDocMemory -benchtime 1x ./docsync
func BenchmarkServer_IdleDocMemory(b *testing.B) {
	const n = 2000
	for i := 0; i < b.N; i++ {
		perConn, goroutines := idleConnMemory(b, n, true)
		b.ReportMetric(perConn, "B/conn+doc")
		b.ReportMetric(goroutines, "goroutines/conn+doc")
	}
}

func idleConnMemory(b *testing.B, n int, ownDocs bool) (perConn, goroutinesPerConn float64) {
	srv, err := docsync.New(docsync.Options{Logger: quietLogger()})
	require.NoError(b, err)
	ts := httptest.NewServer(srv)
	defer func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(b, srv.Shutdown(ctx))
	}()
	addr := strings.TrimPrefix(ts.URL, "http://")

	conns := make([]net.Conn, 0, n+1)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	doc := func(i int) string {
		if ownDocs {
			return fmt.Sprintf("idle-%d", i)
		}
		return "idle"
	}
	conns = append(conns, rawIdleConnTo(b, addr, doc(-1))) // loads the document first
	time.Sleep(200 * time.Millisecond)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for i := 0; i < n; i++ {
		conns = append(conns, rawIdleConnTo(b, addr, doc(i)))
	}
	time.Sleep(time.Second) // every join and first write done
	for range 5 {           // each GC may halve the stacks of parked goroutines that use little of them
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	delta := float64(after.HeapInuse+after.StackInuse) - float64(before.HeapInuse+before.StackInuse)
	perConn = delta / float64(n)
	goroutinesPerConn = float64(g1-g0) / float64(n)
	b.Logf("%d idle conns: heap %+.0f KiB, stack %+.0f KiB, %.0f B/conn, %.2f goroutines/conn",
		n, (float64(after.HeapInuse)-float64(before.HeapInuse))/1024,
		(float64(after.StackInuse)-float64(before.StackInuse))/1024, perConn, goroutinesPerConn)
	return perConn, goroutinesPerConn
}

// rawIdleConn opens a WebSocket to /sync/idle by hand, sends a sync step 1 for an empty
// document (a masked binary frame: 00 00 01 00) and returns the socket without reading from it.
func rawIdleConn(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	return rawIdleConnTo(tb, addr, "idle")
}

// rawIdleConnTo is rawIdleConn for the document doc.
func rawIdleConnTo(tb testing.TB, addr, doc string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(tb, err)
	_, err = c.Write([]byte("GET /sync/" + doc + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	require.NoError(tb, err)
	var resp []byte
	buf := make([]byte, 256)
	for !bytes.Contains(resp, []byte("\r\n\r\n")) {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		k, err := c.Read(buf)
		require.NoError(tb, err)
		resp = append(resp, buf[:k]...)
	}
	require.True(tb, strings.HasPrefix(string(resp), "HTTP/1.1 101"), "%s", resp)
	// FIN+binary, masked, 4 bytes, mask key 0 (so the payload is sent as is): 00 00 01 00.
	_, err = c.Write([]byte{0x82, 0x80 | 4, 0, 0, 0, 0, 0, 0, 1, 0})
	require.NoError(tb, err)
	return c
}

// TestServer_IdleConnectionsHoldOneGoroutine: once synced, an idle connection keeps at most
// its reader goroutine (the writer runs only while frames wait; pings and keep-alives are a
// timer), and on Linux none: its reader is parked with the server's poller.
func TestServer_IdleConnectionsHoldOneGoroutine(t *testing.T) {
	const n = 50
	_, base, _ := newTestServer(t, docsync.Options{})
	addr := strings.TrimPrefix(base, "ws://")
	first := rawIdleConn(t, addr) // loads the document
	defer first.Close()
	time.Sleep(100 * time.Millisecond)
	g0 := runtime.NumGoroutine()
	for i := 0; i < n; i++ {
		c := rawIdleConn(t, addr)
		defer c.Close()
	}
	var extra int
	ok := assert.Eventually(t, func() bool {
		extra = runtime.NumGoroutine() - g0
		return extra <= n+2
	}, waitFor, 20*time.Millisecond)
	require.True(t, ok, "%d goroutines for %d idle connections", extra, n)
	if runtime.GOOS == "linux" {
		ok = assert.Eventually(t, func() bool {
			extra = runtime.NumGoroutine() - g0
			return extra <= 2
		}, waitFor, 20*time.Millisecond)
		require.True(t, ok, "%d goroutines for %d idle connections parked with the poller", extra, n)
	}
}

// TestServer_IdleReadersKeepSmallStacks: a quiet connection's reader is parked with the
// server's poller (Linux) or waits for input on a fresh goroutine with the smallest stack,
// also after the peer sent pongs (which gorilla's NextReader would consume and then wait on,
// deep in its stack, for a data message).
func TestServer_IdleReadersKeepSmallStacks(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && !strings.HasSuffix(runtime.GOOS, "bsd") {
		t.Skipf("readers wait outside gorilla only on Linux, macOS and the BSDs, not %s", runtime.GOOS)
	}
	// Waiting on 2 KiB stacks, the figure is about 2,200 bytes; in gorilla's NextReader it is
	// over 4,096; parked with the poller, near 0. The race detector doubles them.
	limit := 3000.0
	if raceEnabled {
		limit = 6000
	}
	t.Run("goroutine", func(t *testing.T) {
		perConn := idleReaderStacks(t, true)
		assert.Less(t, perConn, limit, "idle readers should wait on the smallest stacks")
	})
	if runtime.GOOS == "linux" {
		t.Run("poller", func(t *testing.T) {
			perConn := idleReaderStacks(t, false)
			assert.Less(t, perConn, 1000.0, "parked readers hold no stack")
		})
	}
}

// idleReaderStacks opens quiet connections that send pongs and returns the stack bytes per
// connection.
func idleReaderStacks(t *testing.T, noPoller bool) float64 {
	const n = 300
	srv, base, _ := newTestServer(t, docsync.Options{})
	if noPoller {
		docsync.DisableIdlePoller(srv)
	}
	addr := strings.TrimPrefix(base, "ws://")
	first := rawIdleConn(t, addr) // loads the document
	defer first.Close()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawIdleConn(t, addr)
		defer conns[i].Close()
	}
	// Unsolicited pongs (RFC 6455 §5.5.3), masked with key 0: one alone, then two in a write,
	// each more than 500 ms after the last input (a peer answering pings, not a busy one).
	pong := []byte{0x80 | 0xA, 0x80 | 2, 0, 0, 0, 0, 'h', 'i'}
	time.Sleep(600 * time.Millisecond)
	for _, c := range conns {
		_, err := c.Write(pong)
		require.NoError(t, err)
	}
	time.Sleep(600 * time.Millisecond)
	for _, c := range conns {
		_, err := c.Write(append(append([]byte{}, pong...), pong...))
		require.NoError(t, err)
	}
	time.Sleep(time.Second) // writers exit 25-50 ms after their last frame (conn.linger)
	// The stacks of exited writers go back to the heap over a few cycles.
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
	perConn := (float64(after.StackInuse) - float64(before.StackInuse)) / n
	t.Logf("stack per idle connection: %.0f bytes (%d goroutines)", perConn, runtime.NumGoroutine())
	return perConn
}

// TestServer_PongThenMessageInOneWrite: a pong and a sync step 1 arriving together are both
// handled (the pong is consumed ahead of gorilla, the message read after it), and so is a pong
// split across two writes.
func TestServer_PongThenMessageInOneWrite(t *testing.T) {
	_, base, _ := newTestServer(t, docsync.Options{})
	addr := strings.TrimPrefix(base, "ws://")
	c := rawIdleConn(t, addr) // sent a step 1 already
	defer c.Close()
	pong := []byte{0x80 | 0xA, 0x80 | 3, 0, 0, 0, 0, 'a', 'b', 'c'}
	step1 := []byte{0x82, 0x80 | 4, 0, 0, 0, 0, 0, 0, 1, 0} // sync step 1, empty state vector
	_, err := c.Write(append(append([]byte{}, pong...), step1...))
	require.NoError(t, err)
	_, err = c.Write(pong[:3])
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	_, err = c.Write(append(pong[3:], step1...))
	require.NoError(t, err)
	// The server answers each step 1 with a step 2 (00 01 ...); count them in what arrives.
	var got []byte
	buf := make([]byte, 4096)
	steps := 0
	deadline := time.Now().Add(waitFor)
	for steps < 3 && time.Now().Before(deadline) {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		k, _ := c.Read(buf)
		got = append(got, buf[:k]...)
		steps = countStep2(got)
	}
	assert.Equal(t, 3, steps, "a step 2 for each step 1 (got % x)", got)
}

// countStep2 counts the server's (unmasked, short) binary frames holding a sync step 2.
func countStep2(b []byte) int {
	n := 0
	for len(b) >= 2 {
		size := int(b[1] & 0x7f)
		if size > 125 || len(b) < 2+size {
			break
		}
		p := b[2 : 2+size]
		if b[0] == 0x82 && len(p) >= 2 && p[0] == 0 && p[1] == 1 {
			n++
		}
		b = b[2+size:]
	}
	return n
}
