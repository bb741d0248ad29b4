package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one run reports; it is printed as text and, with --json, as JSON.
type result struct {
	Mode       string         `json:"mode"`
	URL        string         `json:"url"`
	Conns      int            `json:"conns"`
	Updates    int            `json:"updates"`
	Delivered  int64          `json:"delivered"` // update deliveries measured (latency samples)
	Seconds    float64        `json:"seconds"`
	UpdatesPS  float64        `json:"updatesPerSec"`
	SendPS     float64        `json:"sendPerSec,omitempty"`
	IngestPS   float64        `json:"ingestPerSec,omitempty"` // trace mode: updates/s until a newcomer's step 2 holds them all
	P50us      uint64         `json:"p50us"`
	P99us      uint64         `json:"p99us"`
	MaxUs      uint64         `json:"maxUs"`
	MeanUs     float64        `json:"meanUs"`
	RSSBefore  int64          `json:"rssBeforeKiB"`
	RSSAfter   int64          `json:"rssAfterKiB"`
	RSSPeak    int64          `json:"rssPeakKiB"`
	PerConnKiB float64        `json:"perConnKiB,omitempty"`
	ServerCPU  float64        `json:"serverCpuSeconds,omitempty"` // server user+system CPU during the run
	CloseCodes map[int]int    `json:"closeCodes"`
	Complete   bool           `json:"complete"`
	Notes      []string       `json:"notes,omitempty"`
	Extra      map[string]any `json:"extra,omitempty"`
}

// randomClientID returns a Yjs-style client id (a random uint32, never 0).
func randomClientID() uint64 { return uint64(rand.Uint32()|1) & 0xffffffff }

// stream is what a reader needs to match received updates of one writer to their send times:
// the writer's clock after each tracked update, ascending, and when each was sent (Unix ns,
// 0 = not yet sent).
type stream struct {
	client uint64
	ends   []uint64
	sent   []atomic.Int64
}

// cursor is one reader's position in a stream: the tracked updates before next have arrived.
type cursor struct {
	s    *stream
	next int
	hist histogram
}

// advance marks every tracked update that ends at or before end as delivered at now.
func (c *cursor) advance(end uint64, now time.Time) {
	for c.next < len(c.s.ends) && c.s.ends[c.next] <= end {
		if t := c.s.sent[c.next].Load(); t != 0 {
			d := now.UnixNano() - t
			c.hist.record(uint64(max(d, 0)) / 1000)
		}
		c.next++
	}
}

// traceConfig configures runTrace.
type traceConfig struct {
	URL, Doc string
	Writer   uint64 // the writer's client id, the one Updates were built for
	Updates  []traceUpdate
	Readers  int
	Rate     float64 // updates per second; 0 = as fast as the socket takes them
	Timeout  time.Duration
	PID      int
}

// runTrace replays updates from one writer to cfg.Readers readers of one document. Latency is
// measured for every update that inserts (deletion-only updates do not advance the state
// vector, so a reader cannot tell when it got one); throughput counts every update, from the
// first send until every reader holds the last insert.
func runTrace(ctx context.Context, cfg traceConfig) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	res := &result{Mode: "trace", URL: cfg.URL, Conns: cfg.Readers + 1, Updates: len(cfg.Updates)}
	writer := cfg.Writer
	st := &stream{client: writer}
	tracked := make([]int, len(cfg.Updates)) // index into st.ends, or -1
	for i, u := range cfg.Updates {
		tracked[i] = -1
		if u.Insert {
			tracked[i] = len(st.ends)
			st.ends = append(st.ends, u.End)
		}
	}
	st.sent = make([]atomic.Int64, len(st.ends))
	frames := make([][]byte, len(cfg.Updates))
	for i, u := range cfg.Updates {
		frames[i] = syncFrame(syncUpdate, u.Update)
	}

	cursors := make([]*cursor, cfg.Readers)
	finished := make([]chan struct{}, cfg.Readers)
	finishedAt := make([]atomic.Int64, cfg.Readers)
	for i := range cursors {
		cursors[i] = &cursor{s: st}
		finished[i] = make(chan struct{})
	}
	before, _ := readMem(cfg.PID)
	res.RSSBefore = before.RSS
	readers, err := dialMany(ctx, cfg.URL, cfg.Readers, 32, func(int) string { return cfg.Doc }, func(i int) func([]byte, time.Time) {
		c := cursors[i]
		return func(payload []byte, now time.Time) {
			scanEnds(payload, func(client, end uint64) {
				if client == writer {
					c.advance(end, now)
				}
			})
			if c.next == len(st.ends) && finishedAt[i].Load() == 0 {
				finishedAt[i].Store(now.UnixNano())
				close(finished[i])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	defer closeAll(readers)
	if err := waitSynced(ctx, readers); err != nil {
		return nil, err
	}
	w, err := dialPeer(ctx, cfg.URL, cfg.Doc, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll([]*peer{w})
	if err := waitSynced(ctx, []*peer{w}); err != nil {
		return nil, err
	}

	start := time.Now()
	for i, f := range frames {
		if cfg.Rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		if k := tracked[i]; k >= 0 {
			st.sent[k].Store(time.Now().UnixNano())
		}
		if err := w.write(f); err != nil {
			return nil, fmt.Errorf("writer: update %d: %w", i, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	sendDur := time.Since(start)
	res.SendPS = float64(len(frames)) / sendDur.Seconds()
	// Ingest: when a newcomer's step 2 holds the writer's last insert, the server has
	// integrated (nearly) everything, however its broadcasts fare.
	if len(st.ends) > 0 {
		if at, err := probeIngest(ctx, cfg.URL, cfg.Doc, writer, st.ends[len(st.ends)-1]); err == nil {
			res.IngestPS = float64(len(frames)) / at.Sub(start).Seconds()
		} else {
			res.Notes = append(res.Notes, "ingest probe: "+err.Error())
		}
	}

	complete := true
	for i, p := range readers {
		select {
		case <-finished[i]:
		case <-p.done:
			complete = false
		case <-ctx.Done():
			complete = false
		}
	}
	res.CloseCodes = closeCodes(append(readers, w))
	// Stop the read loops before reading what they recorded.
	closeAll(append(readers, w))
	last := start
	var h histogram
	for i, c := range cursors {
		if t := finishedAt[i].Load(); t != 0 && time.Unix(0, t).After(last) {
			last = time.Unix(0, t)
		}
		h.merge(&c.hist)
	}
	after, _ := readMem(cfg.PID)
	res.fill(&h, last.Sub(start), before, after)
	res.Complete = complete
	if !complete {
		res.Notes = append(res.Notes, "not every reader received every update before the timeout or its close")
	}
	return res, nil
}

// fill sets the latency, throughput and memory fields.
func (r *result) fill(h *histogram, elapsed time.Duration, before, after memInfo) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.UpdatesPS = float64(r.Updates) / r.Seconds
	}
	r.Delivered = int64(h.n)
	r.P50us, r.P99us, r.MaxUs, r.MeanUs = h.percentile(50), h.percentile(99), h.max, h.mean()
	r.RSSBefore, r.RSSAfter, r.RSSPeak = before.RSS, after.RSS, after.HWM
	r.ServerCPU = (after.CPU - before.CPU).Seconds()
}

// docsConfig configures runDocs.
type docsConfig struct {
	URL, Prefix string
	Docs        int
	Rate        float64 // keystrokes per second per editor
	Duration    time.Duration
	Timeout     time.Duration
	PID         int
}

// editor is one of the two typists of a document: it appends one character per keystroke to
// its own run of text, and measures how long its partner's keystrokes take to reach it.
type editor struct {
	peer    *peer
	out     *stream // own keystrokes: ends[k] = k+1, sent[k] = send time of clock k
	in      *cursor // partner's keystrokes
	typed   atomic.Int64
	arrived atomic.Int64 // how many of the partner's keystrokes arrived
}

// runDocs runs cfg.Docs documents with two editors each, typing at cfg.Rate for cfg.Duration.
func runDocs(ctx context.Context, cfg docsConfig) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	n := cfg.Docs * 2
	res := &result{Mode: "docs", URL: cfg.URL, Conns: n}
	maxKeys := int(cfg.Rate*cfg.Duration.Seconds()*1.2) + 16
	eds := make([]*editor, n)
	for i := range eds {
		st := &stream{client: randomClientID(), ends: make([]uint64, maxKeys), sent: make([]atomic.Int64, maxKeys)}
		for k := range st.ends {
			st.ends[k] = uint64(k + 1)
		}
		eds[i] = &editor{out: st}
	}
	for i, e := range eds {
		e.in = &cursor{s: eds[i^1].out}
	}
	before, _ := readMem(cfg.PID)
	peers, err := dialMany(ctx, cfg.URL, n, 32, func(i int) string { return fmt.Sprintf("%s-%d", cfg.Prefix, i/2) }, func(i int) func([]byte, time.Time) {
		e := eds[i]
		return func(payload []byte, now time.Time) {
			scanEnds(payload, func(client, end uint64) {
				if client == e.in.s.client {
					e.in.advance(end, now)
					e.arrived.Store(int64(e.in.next))
				}
			})
		}
	})
	if err != nil {
		return nil, err
	}
	defer closeAll(peers)
	if err := waitSynced(ctx, peers); err != nil {
		return nil, err
	}
	for i, p := range peers {
		eds[i].peer = p
	}

	start := time.Now()
	stop := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	for _, e := range eds {
		wg.Add(1)
		// Each typist stops at the deadline, after maxKeys keystrokes, or on a write error;
		// wg.Wait below waits for all of them.
		go func() {
			defer wg.Done()
			next := start.Add(time.Duration(rand.Int64N(int64(interval))))
			for k := 0; k < maxKeys; k++ {
				time.Sleep(time.Until(next))
				if time.Now().After(stop) || ctx.Err() != nil {
					return
				}
				run := insertRun{Clock: uint64(k), Text: string(rune('a' + k%26))}
				if k > 0 {
					o := uint64(k - 1)
					run.Origin = &o
				}
				f := syncFrame(syncUpdate, encodeTextUpdate(e.out.client, "t", []insertRun{run}, nil))
				e.out.sent[k].Store(time.Now().UnixNano())
				if err := e.peer.write(f); err != nil {
					return
				}
				e.typed.Store(int64(k + 1))
				next = next.Add(interval)
			}
		}()
	}
	wg.Wait()
	typingDur := time.Since(start)
	// Wait (bounded) for the partners' last keystrokes to arrive.
	complete := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		complete = true
		for i, e := range eds {
			if e.arrived.Load() < eds[i^1].typed.Load() {
				complete = false
				break
			}
		}
		if complete {
			break
		}
	}
	var h histogram
	total := 0
	for _, e := range eds {
		total += int(e.typed.Load())
	}
	after, _ := readMem(cfg.PID)
	res.Updates = total
	res.CloseCodes = closeCodes(peers)
	// Stop the read loops before reading what they recorded.
	closeAll(peers)
	for _, e := range eds {
		h.merge(&e.in.hist)
	}
	res.fill(&h, typingDur, before, after)
	res.Complete = complete
	if cfg.Docs > 0 {
		res.Extra = map[string]any{"rssPerDocKiB": float64(after.RSS-before.RSS) / float64(cfg.Docs)}
	}
	if !complete {
		res.Notes = append(res.Notes, "some keystrokes never reached the partner editor")
	}
	return res, nil
}

// idleConfig configures runIdle.
type idleConfig struct {
	URL, Prefix string
	Conns, Docs int
	Settle      time.Duration
	Hold        time.Duration
	Timeout     time.Duration
	PID         int
}

// runIdle opens cfg.Conns connections spread over cfg.Docs documents, waits until all are
// synced and cfg.Settle has passed, and reports the server's resident memory per connection.
// With cfg.Hold it keeps them open that much longer and reports which were closed meanwhile
// (keep-alives must keep idle y-websocket clients connected).
func runIdle(ctx context.Context, cfg idleConfig) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	res := &result{Mode: "idle", URL: cfg.URL, Conns: cfg.Conns}
	before, _ := readMem(cfg.PID)
	start := time.Now()
	peers, err := dialMany(ctx, cfg.URL, cfg.Conns, 64, func(i int) string { return fmt.Sprintf("%s-%d", cfg.Prefix, i%cfg.Docs) }, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll(peers)
	if err := waitSynced(ctx, peers); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	time.Sleep(cfg.Settle)
	after, _ := readMem(cfg.PID)
	res.RSSBefore, res.RSSAfter, res.RSSPeak = before.RSS, after.RSS, after.HWM
	res.ServerCPU = (after.CPU - before.CPU).Seconds()
	if cfg.Conns > 0 {
		res.PerConnKiB = float64(after.RSS-before.RSS) / float64(cfg.Conns)
	}
	if cfg.Hold > 0 {
		time.Sleep(cfg.Hold)
		held, _ := readMem(cfg.PID)
		res.Extra = map[string]any{"rssAfterHoldKiB": held.RSS}
	}
	res.CloseCodes = closeCodes(peers)
	res.Complete = res.CloseCodes[0] == cfg.Conns
	return res, nil
}

// probeIngest joins doc with fresh connections until the first update a newcomer receives
// (its step 2) holds client's clock end, and returns when that arrived.
func probeIngest(ctx context.Context, url, doc string, client, end uint64) (time.Time, error) {
	type answer struct {
		at   time.Time
		full bool
	}
	for {
		got := make(chan answer, 1)
		p, err := dialPeer(ctx, url, doc, func(payload []byte, now time.Time) {
			var have uint64
			scanEnds(payload, func(c, e uint64) {
				if c == client {
					have = e
				}
			})
			select {
			case got <- answer{now, have >= end}:
			default: // only the first message counts
			}
		})
		if err != nil {
			return time.Time{}, err
		}
		var a answer
		select {
		case a = <-got:
		case <-p.done:
		case <-ctx.Done():
		}
		closeAll([]*peer{p})
		if a.full {
			return a.at, nil
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
	}
}
