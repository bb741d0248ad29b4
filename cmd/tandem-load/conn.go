package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// peer is one y-websocket client connection. Its read loop answers the server's step 1 with an
// empty step 2 (the tool's clients never reconnect, so their state at connect time is empty),
// reports every update payload to onUpdate, and records how the connection ended.
type peer struct {
	ws     *websocket.Conn
	wmu    sync.Mutex // serializes writes: gorilla allows one writer at a time
	synced chan struct{}
	done   chan struct{} // closed when the read loop ends

	frames    atomic.Int64
	closeCode atomic.Int64 // 0 while open; the close code, or -1 for an error without one
	closeErr  atomic.Value // string
}

// dialPeer connects to base + "/" + doc, starts the read loop and sends step 1. onUpdate runs
// on the read loop's goroutine, with the payload of every step 2 and update message.
func dialPeer(ctx context.Context, base, doc string, onUpdate func(payload []byte, at time.Time)) (*peer, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 16 << 10, WriteBufferSize: 16 << 10}
	ws, resp, err := d.DialContext(ctx, base+"/"+doc, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s/%s: %w", base, doc, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	ws.SetReadLimit(256 << 20)
	p := &peer{ws: ws, synced: make(chan struct{}), done: make(chan struct{})}
	// The read loop is stopped by closing ws (peer.close) or by the server; peer.done tells
	// when it has returned.
	go p.readLoop(onUpdate)
	if err := p.write(emptyStep1); err != nil {
		ws.Close()
		return nil, err
	}
	return p, nil
}

func (p *peer) readLoop(onUpdate func([]byte, time.Time)) {
	defer close(p.done)
	syncedOnce := false
	for {
		mt, data, err := p.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				p.closeCode.Store(int64(ce.Code))
			} else {
				p.closeCode.Store(-1)
			}
			p.closeErr.Store(err.Error())
			return
		}
		now := time.Now()
		p.frames.Add(1)
		if mt != websocket.BinaryMessage {
			continue
		}
		msgType, sub, payload, err := parseFrame(data)
		if err != nil || msgType != messageSync {
			continue
		}
		switch sub {
		case syncStep1:
			if err := p.write(emptyStep2); err != nil {
				return
			}
		case syncStep2, syncUpdate:
			if sub == syncStep2 && !syncedOnce {
				syncedOnce = true
				close(p.synced)
			}
			if onUpdate != nil {
				onUpdate(payload, now)
			}
		}
	}
}

// write sends one binary frame.
func (p *peer) write(frame []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return p.ws.WriteMessage(websocket.BinaryMessage, frame)
}

// close sends a normal close frame and closes the connection.
func (p *peer) close() {
	p.wmu.Lock()
	p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	p.wmu.Unlock()
	p.ws.Close()
}

// closedWith returns the close code (0 while open) and error text.
func (p *peer) closedWith() (int, string) {
	s, _ := p.closeErr.Load().(string)
	return int(p.closeCode.Load()), s
}

// waitSynced waits until every peer got its first step 2.
func waitSynced(ctx context.Context, peers []*peer) error {
	for i, p := range peers {
		select {
		case <-p.synced:
		case <-p.done:
			code, msg := p.closedWith()
			return fmt.Errorf("peer %d closed before sync: code %d: %s", i, code, msg)
		case <-ctx.Done():
			return fmt.Errorf("peer %d: waiting for sync: %w", i, ctx.Err())
		}
	}
	return nil
}

// dialMany opens n peers with at most par dials in flight; doc(i) names peer i's document and
// onUpdate(i) returns its update callback (may be nil).
func dialMany(ctx context.Context, base string, n, par int, doc func(int) string, onUpdate func(int) func([]byte, time.Time)) ([]*peer, error) {
	peers := make([]*peer, n)
	errs := make([]error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		// Each dial goroutine ends when its dial returns; wg.Wait below waits for all.
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var cb func([]byte, time.Time)
			if onUpdate != nil {
				cb = onUpdate(i)
			}
			peers[i], errs[i] = dialPeer(ctx, base, doc(i), cb)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(peers)
		return nil, err
	}
	return peers, nil
}

// closeAll closes every non-nil peer and waits for its read loop.
func closeAll(peers []*peer) {
	for _, p := range peers {
		if p != nil {
			p.close()
		}
	}
	for _, p := range peers {
		if p != nil {
			<-p.done
		}
	}
}

// closeCodes counts peers by close code (0 = still open).
func closeCodes(peers []*peer) map[int]int {
	m := map[int]int{}
	for _, p := range peers {
		code, _ := p.closedWith()
		m[code]++
	}
	return m
}

// checkLoopback refuses server URLs that do not point at this machine: the tool is a
// benchmark for a local server, not a load generator for remote ones.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("url %q: scheme must be ws or wss", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("url %q: only loopback servers are allowed", raw)
	}
	return nil
}

// memInfo is a process's resident memory as reported by /proc/<pid>/status, in KiB, and
// the CPU time it has used so far (user + system, from /proc/<pid>/stat).
type memInfo struct {
	RSS, HWM int64
	CPU      time.Duration
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat (100 on Linux).
const clockTicks = 100

// readCPU returns the user + system CPU time of pid.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; the fields after its ')' are fixed.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("tandem-load: unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("tandem-load: short /proc stat line")
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// readMem reads VmRSS and VmHWM of pid; pid 0 yields a zero memInfo.
func readMem(pid int) (memInfo, error) {
	if pid == 0 {
		return memInfo{}, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}, err
	}
	var m memInfo
	if m.CPU, err = readCPU(pid); err != nil {
		return memInfo{}, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		}
	}
	return m, nil
}
