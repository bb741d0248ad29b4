package docsync_test

import (
	"bytes"
	"context"
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
		perConn, goroutines := idleConnMemory(b, n)
		b.ReportMetric(perConn, "B/conn")
		b.ReportMetric(goroutines, "goroutines/conn")
	}
}

func idleConnMemory(b *testing.B, n int) (perConn, goroutinesPerConn float64) {
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
	conns = append(conns, rawIdleConn(b, addr)) // loads the document first
	time.Sleep(200 * time.Millisecond)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for i := 0; i < n; i++ {
		conns = append(conns, rawIdleConn(b, addr))
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
	c, err := net.Dial("tcp", addr)
	require.NoError(tb, err)
	_, err = c.Write([]byte("GET /sync/idle HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\n" +
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

// TestServer_IdleConnectionsHoldOneGoroutine: once synced, an idle connection keeps only its
// reader goroutine (the writer runs only while frames wait; pings and keep-alives are timers).
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
}
