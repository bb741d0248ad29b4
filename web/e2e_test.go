package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// e2eResult is what web/e2e/e2e.mjs observed in the browser.
type e2eResult struct {
	Doc                      string   `json:"doc"`
	Screenshots              []string `json:"screenshots"`
	ConsoleErrors            []string `json:"consoleErrors"`
	Steps                    []string `json:"steps"`
	Error                    string   `json:"error"`
	CreatedURL               string   `json:"createdURL"`
	LiveA                    bool     `json:"liveA"`
	LiveB                    bool     `json:"liveB"`
	Converged                bool     `json:"converged"`
	TextA                    string   `json:"textA"`
	TextB                    string   `json:"textB"`
	BothLinesIntact          bool     `json:"bothLinesIntact"`
	ConvergedAfterFormatting bool     `json:"convergedAfterFormatting"`
	FinalText                string   `json:"finalText"`
	Structure                struct {
		H1        string `json:"h1"`
		ListItems int    `json:"listItems"`
		Bold      string `json:"bold"`
	} `json:"structure"`
	CursorOfGraceOnA    bool     `json:"cursorOfGraceOnA"`
	CursorOfAdaOnB      bool     `json:"cursorOfAdaOnB"`
	PresenceA           []string `json:"presenceA"`
	PresenceB           []string `json:"presenceB"`
	ReloadText          string   `json:"reloadText"`
	ReloadKept          bool     `json:"reloadKept"`
	HistoryAuthors      []string `json:"historyAuthors"`
	HistoryOps          int      `json:"historyOps"`
	HistoryPreviewText  string   `json:"historyPreviewText"`
	HistoryEditorHidden bool     `json:"historyEditorHidden"`
	HistoryShowsEarlier bool     `json:"historyShowsEarlier"`
	BackToLive          bool     `json:"backToLive"`
	OfflineShown        bool     `json:"offlineShown"`
	OfflineLabel        string   `json:"offlineLabel"`
	BackOnline          bool     `json:"backOnline"`
	OfflineEditSynced   bool     `json:"offlineEditSynced"`
	RenameSeenByOther   bool     `json:"renameSeenByOther"`
	RenameKept          string   `json:"renameKept"`
	ListedOnStart       bool     `json:"listedOnStart"`
}

// skipOrFail skips locally when a tool the browser test needs is missing, and fails in CI
// (CI=true), where .ci/run installs everything.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("browser test cannot run in CI: %s", msg)
	}
	t.Skipf("browser test skipped: %s", msg)
}

// syncBuffer is a bytes.Buffer safe for the child process's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestEditor_EndToEnd runs the real tandem binary and drives two browsers against it:
// concurrent typing converges, each sees the other's named cursor, a reload keeps the
// content, and the history panel shows an earlier version with its authors.
func TestEditor_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	webDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(webDir)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above %s: %v", webDir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core", "package.json")); err != nil {
		skipOrFail(t, "web/node_modules is missing (run npm ci in web/)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		skipOrFail(t, "%s is missing (apt-get install chromium)", chromium)
	}

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "tandem")
	build := exec.Command("go", "build", "-o", bin, "./cmd/tandem")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tandem: %v\n%s", err, out)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	var serverLog syncBuffer
	srv := exec.Command(bin, "serve", "--addr", addr, "--db", filepath.Join(tmp, "t.db"))
	srv.Stdout = &serverLog
	srv.Stderr = &serverLog
	if err := srv.Start(); err != nil {
		t.Fatalf("starting tandem serve: %v", err)
	}
	exited := make(chan error, 1)
	// This goroutine ends when the server process exits; the cleanup below makes it exit.
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = srv.Process.Kill()
			<-exited
			t.Errorf("tandem serve did not stop within 15s of SIGINT")
		}
		if t.Failed() {
			t.Logf("tandem serve log:\n%s", serverLog.String())
		}
	})

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("tandem serve exited before it was healthy: %v\n%s", err, serverLog.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem serve not healthy at %s/healthz after 30s", base)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res, err := client.Get(base + "/d/check")
	if err != nil {
		t.Fatalf("GET /d/check: %v", err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`<div id="app">`)) {
		t.Fatalf("tandem serve does not serve the editor at /d/<doc> (status %d): route everything that is "+
			"not /sync/, /api/ or /healthz to web.Handler()", res.StatusCode)
	}

	shots := os.Getenv("TANDEM_SCREENSHOTS")
	if shots == "" {
		// Kept after the test so the pictures can be looked at.
		if shots, err = os.MkdirTemp("", "tandem-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	if shots, err = filepath.Abs(shots); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)
	fmt.Fprintf(os.Stderr, "web e2e screenshots: %s\n", shots)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	run := exec.CommandContext(ctx, node, filepath.Join(webDir, "e2e", "e2e.mjs"), "--url", base, "--out", shots)
	run.Dir = webDir
	run.Env = append(os.Environ(), "CHROMIUM="+chromium)
	run.Stdout = &stdout
	run.Stderr = &stderr
	runErr := run.Run()
	var r e2eResult
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		t.Fatalf("e2e.mjs: %v; output is not its JSON result: %v\nstdout:\n%s\nstderr:\n%s", runErr, err, stdout.String(), stderr.String())
	}
	if r.Error != "" || runErr != nil {
		t.Fatalf("e2e.mjs failed after steps %v: %v\n%s\nstderr:\n%s", r.Steps, runErr, r.Error, stderr.String())
	}

	check := func(ok bool, format string, args ...any) {
		t.Helper()
		if !ok {
			t.Errorf(format, args...)
		}
	}
	check(strings.HasSuffix(r.CreatedURL, "/d/"+r.Doc), "start page's create form went to %q, want /d/%s", r.CreatedURL, r.Doc)
	check(r.LiveA && r.LiveB, "connection status never showed live (a %v, b %v)", r.LiveA, r.LiveB)
	check(r.Converged, "concurrent typing did not converge:\na: %q\nb: %q", r.TextA, r.TextB)
	check(r.BothLinesIntact, "a typed line was lost or split: %q", r.TextA)
	check(r.ConvergedAfterFormatting, "edits with formatting did not converge: %q", r.FinalText)
	check(r.Structure.H1 == "Launch plan", "heading: got %q, want \"Launch plan\"", r.Structure.H1)
	check(r.Structure.ListItems == 2, "bullet list items: got %d, want 2", r.Structure.ListItems)
	check(strings.HasPrefix(r.Structure.Bold, "Friday"), "bold text: got %q, want Friday", r.Structure.Bold)
	check(r.CursorOfGraceOnA, "Ada's view shows no cursor named Grace Hopper")
	check(r.CursorOfAdaOnB, "Grace's view shows no cursor named Ada Lovelace")
	for _, p := range [][]string{r.PresenceA, r.PresenceB} {
		check(slices.Contains(p, "Ada Lovelace") && slices.Contains(p, "Grace Hopper"), "presence list %v lacks someone", p)
	}
	check(r.ReloadKept, "reload lost content: before %q, after %q", r.FinalText, r.ReloadText)
	check(slices.Contains(r.HistoryAuthors, "Ada Lovelace") && slices.Contains(r.HistoryAuthors, "Grace Hopper"),
		"history does not name both authors: %v", r.HistoryAuthors)
	check(r.HistoryOps >= 10, "history lists %d changes, want one per stored update (≥10)", r.HistoryOps)
	check(r.HistoryShowsEarlier && r.HistoryEditorHidden, "history did not show an earlier version: %q (final %q)", r.HistoryPreviewText, r.FinalText)
	check(r.BackToLive, "back to live did not bring the editor back")
	check(r.OfflineShown, "going offline was not shown")
	check(r.BackOnline && r.OfflineEditSynced, "an edit made offline did not sync after reconnecting (online %v)", r.BackOnline)
	check(r.RenameSeenByOther, "Ada's new name did not reach Grace's presence list")
	check(r.RenameKept == "Ada King", "name after reload: %q, want \"Ada King\" (kept in localStorage)", r.RenameKept)
	check(r.ListedOnStart, "start page does not list %s", r.Doc)
	for _, e := range r.ConsoleErrors {
		// The offline step makes the browser's reconnect attempts fail on purpose.
		if strings.Contains(e, "ERR_INTERNET_DISCONNECTED") {
			continue
		}
		t.Errorf("browser console error: %s", e)
	}
	check(len(r.Screenshots) >= 5, "only %d screenshots", len(r.Screenshots))
	for _, s := range r.Screenshots {
		if st, err := os.Stat(s); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s missing or empty", s)
		}
	}
}
