package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/docsync"
)

// startDocsync runs an in-memory docsync server and returns the base URL tandem-load takes.
func startDocsync(t *testing.T) string {
	t.Helper()
	srv, err := docsync.New(docsync.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		ts.Close()
		assert.NoError(t, srv.Close())
	})
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/sync"
}

func TestRunTrace_AgainstDocsync(t *testing.T) {
	url := startDocsync(t)
	src := `{"startContent":"","endContent":"","txns":[
		{"patches":[[0,0,"hello world"]]}, {"patches":[[5,0,","]]}, {"patches":[[0,1,"H"]]},
		{"patches":[[12,0,"!"],[6,1,""]]}, {"patches":[[3,4,""]]}, {"patches":[[0,8,"bye"]]}]}`
	var tr trace
	require.NoError(t, json.Unmarshal([]byte(src), &tr))
	limit := 0
	if path := filepath.Join("..", "..", "crdt", "testdata", "traces", "automerge-paper.json.gz"); fileExists(path) {
		big, err := readTrace(path)
		require.NoError(t, err)
		tr, limit = *big, 1500
	}
	cfg := traceConfig{URL: url, Doc: "trace-test", Readers: 3, Rate: 1000, Timeout: 30 * time.Second}
	res, err := runTraceWith(context.Background(), cfg, &tr, limit)
	require.NoError(t, err)
	assert.True(t, res.Complete, "every reader got every update: %+v", res)
	inserts := 0
	ups, _, err := buildTraceUpdates(&tr, 1, "t", limit)
	require.NoError(t, err)
	for _, u := range ups {
		if u.Insert {
			inserts++
		}
	}
	assert.Equal(t, int64(3*inserts), res.Delivered, "one latency sample per insert per reader")
	assert.Equal(t, map[int]int{0: 4}, res.CloseCodes, "no connection was closed by the server")
	assert.Positive(t, res.UpdatesPS)
	assert.Positive(t, res.IngestPS, "a newcomer got the whole trace: %v", res.Notes)
	assert.LessOrEqual(t, res.P50us, res.P99us)
	assert.LessOrEqual(t, res.P99us, res.MaxUs)
}

func TestRunDocs_AgainstDocsync(t *testing.T) {
	url := startDocsync(t)
	res, err := runDocs(context.Background(), docsConfig{URL: url, Prefix: "docs-test", Docs: 3, Rate: 40, Duration: time.Second, Timeout: 30 * time.Second})
	require.NoError(t, err)
	assert.True(t, res.Complete, "every keystroke reached the partner: %+v", res)
	assert.Greater(t, res.Updates, 6*20, "each of 6 editors typed about 40 keys")
	assert.Equal(t, int64(res.Updates), res.Delivered, "every keystroke measured once, at the partner")
	assert.Equal(t, map[int]int{0: 6}, res.CloseCodes)
}

func TestRunIdle_AgainstDocsync(t *testing.T) {
	url := startDocsync(t)
	res, err := runIdle(context.Background(), idleConfig{URL: url, Prefix: "idle-test", Conns: 20, Docs: 3, Timeout: 30 * time.Second, PID: os.Getpid()})
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Equal(t, map[int]int{0: 20}, res.CloseCodes)
	assert.Positive(t, res.RSSAfter, "memory of the given pid is read")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
