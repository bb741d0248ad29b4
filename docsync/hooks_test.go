package docsync_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
)

// eventLog records hook events as short strings.
type eventLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, s)
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.evs...)
}

func (l *eventLog) has(s string) bool {
	for _, e := range l.list() {
		if e == s {
			return true
		}
	}
	return false
}

func TestHooks_EventsInOrderAndUpdateIsDurable(t *testing.T) {
	log := &eventLog{}
	store := persistence.NewMemoryStore()
	defer store.Close()
	auth := newTokenAuth()
	var durableErr error
	var mu sync.Mutex
	_, base, _ := newTestServer(t, docsync.Options{
		Store:        store,
		Authenticate: auth.authenticate,
		IdleTimeout:  50 * time.Millisecond,
		Hooks: docsync.Hooks{
			OnConnect: func(_ context.Context, ev docsync.ConnEvent) {
				log.add("connect " + ev.Doc + " " + ev.Principal + " " + ev.Access.String())
			},
			OnDisconnect: func(_ context.Context, ev docsync.ConnEvent) {
				log.add("disconnect " + ev.Doc + " " + ev.Principal)
			},
			OnUpdate: func(ctx context.Context, ev docsync.UpdateEvent) {
				// The update is durable: the store already has it at ev.Seq.
				recs, err := store.History(ctx, ev.Doc, ev.Seq, ev.Seq)
				mu.Lock()
				if err != nil || len(recs) != 1 || string(recs[0].Update) != string(ev.Update) {
					durableErr = assert.AnError
				}
				mu.Unlock()
				log.add("update " + ev.Doc + " " + ev.Principal)
			},
			OnLoad:   func(_ context.Context, ev docsync.DocEvent) { log.add("load " + ev.Doc) },
			OnUnload: func(_ context.Context, ev docsync.DocEvent) { log.add("unload " + ev.Doc) },
		},
	})
	c := dial(t, base, "doc?token=rw")
	c.waitSynced()
	c.insert(0, "hi")
	require.Eventually(t, func() bool { return log.has("update doc alice") }, waitFor, 5*time.Millisecond)
	_ = c.ws.Close()
	require.Eventually(t, func() bool { return log.has("unload doc") }, waitFor, 5*time.Millisecond)
	assert.Equal(t, []string{"load doc", "connect doc alice read-write", "update doc alice", "disconnect doc alice", "unload doc"}, log.list())
	mu.Lock()
	assert.NoError(t, durableErr, "OnUpdate ran before the update was in the store")
	mu.Unlock()
}

func TestHooks_SlowHooksNeverWedgeTheDocument(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var calls sync.WaitGroup
	srv, base, ts := newTestServer(t, docsync.Options{
		HookTimeout:  20 * time.Millisecond,
		HookQueueLen: 4,
		Hooks: docsync.Hooks{
			// A hook that ignores its context and hangs.
			OnUpdate: func(context.Context, docsync.UpdateEvent) {
				calls.Add(1)
				defer calls.Done()
				<-block
			},
		},
	})
	a := dial(t, base, "doc")
	b := dial(t, base, "doc")
	a.waitSynced()
	b.waitSynced()
	start := time.Now()
	for i := 0; i < 50; i++ {
		a.insert(0, "x")
	}
	require.Eventually(t, func() bool { return b.text() == strings.Repeat("x", 50) }, waitFor, 5*time.Millisecond,
		"edits flow while the hook hangs")
	assert.Less(t, time.Since(start), 5*time.Second)
	require.NoError(t, srv.ApplyUpdate(context.Background(), "doc", textUpdate(3, "y")), "server-side edits too")

	metric := func(re string) func() bool {
		return func() bool {
			_, body := get(t, ts.URL+"/metrics")
			return regexp.MustCompile(re).Match(body)
		}
	}
	assert.Eventually(t, metric(`tandem_hook_events_dropped_total [1-9]`), waitFor, 10*time.Millisecond, "a full queue drops events")
	assert.Eventually(t, metric(`tandem_hook_timeouts_total [1-9]`), waitFor, 10*time.Millisecond, "overrunning calls are counted")
}

func TestMetrics_Exposition(t *testing.T) {
	_, base, ts := newTestServer(t, docsync.Options{})
	a := dial(t, base, "doc")
	b := dial(t, base, "doc")
	a.waitSynced()
	b.waitSynced()
	a.insert(0, "abc")
	require.Eventually(t, func() bool { return b.text() == "abc" }, waitFor, 5*time.Millisecond)
	status, body := get(t, ts.URL+"/metrics")
	require.Equal(t, 200, status)
	m := string(body)
	for _, want := range []string{
		"tandem_connections 2",
		"tandem_documents_loaded 1",
		"tandem_updates_durable_total 1",
		"tandem_append_duration_seconds_count 1",
		"# TYPE tandem_actor_inbox_depth_max gauge",
		"# TYPE tandem_slow_peer_closes_total counter",
		"# TYPE tandem_received_bytes_total counter",
		"# TYPE tandem_sent_bytes_total counter",
		"go_goroutines",
	} {
		assert.Contains(t, m, want)
	}
	assert.NotContains(t, m, `doc="`, "no document names in labels")
}

func TestMetrics_DisabledRouteAndSharedRegistry(t *testing.T) {
	srv, _, ts := newTestServer(t, docsync.Options{DisableMetricsRoute: true})
	status, _ := get(t, ts.URL+"/metrics")
	assert.Equal(t, 404, status)
	assert.NotNil(t, srv.MetricsHandler())
}
