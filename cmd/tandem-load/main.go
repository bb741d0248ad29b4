// Command tandem-load measures a y-websocket server on this machine: Tandem's docsync server
// or the reference server (docsync/testdata/js/refserver.mjs), through the same workloads.
// It speaks the y-websocket protocol itself and builds Yjs v1 text updates for one client per
// connection.
//
//	tandem-load --url ws://127.0.0.1:8080/sync --mode trace --readers 10 [--pid N]
//	tandem-load --url ws://127.0.0.1:1234      --mode docs  --docs 100   [--pid N]
//	tandem-load --url ws://127.0.0.1:8080/sync --mode idle  --conns 1000 [--pid N]
//
// --url is the base the document name is appended to (base + "/" + doc): Tandem serves
// documents under /sync/, the reference server names a document after the whole path.
// Modes:
//
//   - trace: one writer replays an editing trace (default: the automerge-paper trace), one
//     update per trace transaction, to K readers of the same document. Reports updates/s
//     until every reader has every update, and the broadcast latency (send → reader) p50/p99.
//   - docs: D documents, two editors each, typing --rate characters per second for
//     --duration; latency is from one editor's send to its partner's receipt.
//   - idle: N connections that only sync and stay open; reports server memory per connection.
//
// With --pid, the server process's resident memory (VmRSS, VmHWM from /proc) is reported
// before and after, and the CPU time it used during the run. Only loopback URLs are accepted, and every mode is bounded in connections
// and time.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tandem-load:", err)
		}
		os.Exit(2)
	}
}

// Limits that keep a run bounded.
const (
	maxReaders = 1000
	maxDocs    = 5000
	maxConns   = 15000
	maxTimeout = 10 * time.Minute
)

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tandem-load", flag.ContinueOnError)
	var (
		url       = fs.String("url", "ws://127.0.0.1:8080/sync", "server base URL; the document name is appended after a /")
		mode      = fs.String("mode", "trace", "workload: trace, docs or idle")
		pid       = fs.Int("pid", 0, "server process id, to report its resident memory (0: do not)")
		asJSON    = fs.Bool("json", false, "print the result as one JSON object")
		timeout   = fs.Duration("timeout", 3*time.Minute, "upper bound for the whole run")
		tracePath = fs.String("trace", "crdt/testdata/traces/automerge-paper.json.gz", "trace mode: editing trace file")
		limit     = fs.Int("limit", 0, "trace mode: replay only the first N transactions (0: all)")
		readers   = fs.Int("readers", 10, "trace mode: readers of the document")
		rate      = fs.Float64("rate", 0, "trace mode: updates per second (0: as fast as possible); docs mode: keystrokes per second per editor (0: 5)")
		docs      = fs.Int("docs", 100, "docs mode: documents (2 editors each); idle mode: documents the connections spread over")
		duration  = fs.Duration("duration", 15*time.Second, "docs mode: how long the editors type")
		conns     = fs.Int("conns", 1000, "idle mode: connections")
		settle    = fs.Duration("settle", 2*time.Second, "idle mode: wait this long after the last sync before measuring")
		hold      = fs.Duration("hold", 0, "idle mode: keep the connections open this much longer and report closes")
		doc       = fs.String("doc", "", "document name (prefix in docs and idle modes); empty: random")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*url); err != nil {
		return err
	}
	if *timeout <= 0 || *timeout > maxTimeout {
		return fmt.Errorf("--timeout must be in (0, %v]", maxTimeout)
	}
	name := *doc
	if name == "" {
		name = fmt.Sprintf("load-%s-%08x", *mode, randomClientID())
	}

	var (
		res *result
		err error
	)
	switch *mode {
	case "trace":
		if *readers < 1 || *readers > maxReaders {
			return fmt.Errorf("--readers must be in [1, %d]", maxReaders)
		}
		t, err := readTrace(*tracePath)
		if err != nil {
			return err
		}
		cfg := traceConfig{URL: *url, Doc: name, Readers: *readers, Rate: *rate, Timeout: *timeout, PID: *pid}
		res, err = runTraceWith(ctx, cfg, t, *limit)
		if err == nil {
			res.Extra["trace"] = *tracePath
		}
	case "docs":
		if *docs < 1 || *docs > maxDocs {
			return fmt.Errorf("--docs must be in [1, %d]", maxDocs)
		}
		r := *rate
		if r <= 0 {
			r = 5
		}
		if *duration <= 0 || *duration > *timeout {
			return errors.New("--duration must be positive and below --timeout")
		}
		res, err = runDocs(ctx, docsConfig{URL: *url, Prefix: name, Docs: *docs, Rate: r, Duration: *duration, Timeout: *timeout, PID: *pid})
	case "idle":
		if *conns < 1 || *conns > maxConns {
			return fmt.Errorf("--conns must be in [1, %d]", maxConns)
		}
		d := max(1, min(*docs, *conns))
		res, err = runIdle(ctx, idleConfig{URL: *url, Prefix: name, Conns: *conns, Docs: d, Settle: *settle, Hold: *hold, Timeout: *timeout, PID: *pid})
	default:
		return fmt.Errorf("unknown --mode %q (trace, docs, idle)", *mode)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	printResult(out, res)
	return nil
}

// runTraceWith builds the trace's updates for a fresh writer id and runs the trace workload.
func runTraceWith(ctx context.Context, cfg traceConfig, t *trace, limit int) (*result, error) {
	cfg.Writer = randomClientID()
	start := time.Now()
	ups, _, err := buildTraceUpdates(t, cfg.Writer, "t", limit)
	if err != nil {
		return nil, err
	}
	build := time.Since(start)
	cfg.Updates = ups
	res, err := runTrace(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res.Extra = map[string]any{"buildSeconds": build.Seconds()}
	return res, nil
}

// printResult writes res as a few readable lines.
func printResult(w io.Writer, r *result) {
	fmt.Fprintf(w, "mode %s  url %s  conns %d  complete %v\n", r.Mode, r.URL, r.Conns, r.Complete)
	if r.Mode != "idle" {
		fmt.Fprintf(w, "updates %d in %.2f s: %.0f updates/s", r.Updates, r.Seconds, r.UpdatesPS)
		if r.SendPS > 0 {
			fmt.Fprintf(w, " (writer sent %.0f/s)", r.SendPS)
		}
		if r.IngestPS > 0 {
			fmt.Fprintf(w, "; server ingested %.0f/s", r.IngestPS)
		}
		fmt.Fprintf(w, "\nlatency over %d deliveries: p50 %s  p99 %s  max %s  mean %s\n",
			r.Delivered, us(float64(r.P50us)), us(float64(r.P99us)), us(float64(r.MaxUs)), us(r.MeanUs))
	} else {
		fmt.Fprintf(w, "all synced in %.2f s; server memory per connection %.1f KiB\n", r.Seconds, r.PerConnKiB)
	}
	if r.RSSAfter > 0 {
		fmt.Fprintf(w, "server RSS %.1f MiB before, %.1f MiB after, peak %.1f MiB; server CPU %.2f s\n",
			float64(r.RSSBefore)/1024, float64(r.RSSAfter)/1024, float64(r.RSSPeak)/1024, r.ServerCPU)
	}
	fmt.Fprintf(w, "close codes (0 = open at the end): %v\n", r.CloseCodes)
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for k, v := range r.Extra {
		fmt.Fprintf(w, "%s: %v\n", k, v)
	}
}

// us formats microseconds readably.
func us(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}
