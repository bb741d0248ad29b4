package docsync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/docsync"
)

// TestServer_BurstKeepsReaders: one writer sends 20,000 small updates as fast as its socket
// takes them while ten readers read normally. The server integrates faster than the readers'
// writers can send frame by frame, so their queues grow; they must be drained (and merged),
// not closed with 1013, and every reader must end with the writer's text.
func TestServer_BurstKeepsReaders(t *testing.T) {
	const updates, readers = 20000, 10
	srv, base, _ := newTestServer(t, docsync.Options{})
	rs := make([]*client, readers)
	for i := range rs {
		rs[i] = dial(t, base, "burst")
		rs[i].waitSynced()
	}
	w := dial(t, base, "burst")
	w.waitSynced()
	start := time.Now()
	for i := 0; i < updates; i++ {
		w.insert(i, string(rune('a'+i%26)))
	}
	sent := time.Since(start)
	want := w.text()
	require.Len(t, want, updates)

	deadline := time.Now().Add(2 * time.Minute)
	for i, r := range rs {
		for r.text() != want && time.Now().Before(deadline) {
			select {
			case <-r.closed:
				t.Fatalf("reader %d closed with %d after %d of %d chars", i, r.closeCode, len(r.text()), updates)
			case <-time.After(20 * time.Millisecond):
			}
		}
		require.Equal(t, len(want), len(r.text()), "reader %d", i)
		require.Equal(t, want, r.text(), "reader %d", i)
		select {
		case <-r.closed:
			t.Fatalf("reader %d closed with %d", i, r.closeCode)
		default:
		}
		// Merged frames: far fewer update messages than updates (the count is logged).
		n := 0
		for _, ev := range r.eventsCopy() {
			if ev.typ == 0 && ev.sub == 2 {
				n++
			}
		}
		if i == 0 {
			t.Logf("sent %d updates in %v (%.0f/s); reader 0 got %d update frames, converged after %v",
				updates, sent, float64(updates)/sent.Seconds(), n, time.Since(start))
		}
	}
	var serverText string
	require.NoError(t, srv.Read(context.Background(), "burst", func(d *crdt.Doc) error {
		serverText, _ = d.ToJSON()["t"].(string)
		return nil
	}))
	assert.Equal(t, want, serverText)
	assert.False(t, strings.Contains(serverText, "\x00"))
}
