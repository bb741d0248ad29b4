package docsync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/awareness"
	"github.com/tandemsync/tandem/crdt"
)

// Actor core scenarios, driven message by message without sockets or goroutines. Each step
// prints the effects it caused as transcript lines, e.g.
//
//	a <- sync-step2 7B
//	append #1 client=1 5B
//	b <- update(a's frame)
//	close a 4400
//
// and the test compares the transcript of each step with what it expects.

// fakeSink records what the core hands to one peer.
type fakeSink struct {
	frames [][]byte
	closed CloseReason
	full   bool // enqueue refuses (a slow peer)
}

func (f *fakeSink) enqueue(b []byte) bool {
	if f.full {
		return false
	}
	f.frames = append(f.frames, b)
	return true
}

func (f *fakeSink) close(r CloseReason) {
	if f.closed == 0 {
		f.closed = r
	}
}

// harness drives a core and executes its effects like actor.execute, without a store: appends
// wait in pending until the test acknowledges them.
type harness struct {
	t       *testing.T
	c       *core
	opts    Options
	peers   map[string]*peer
	sinks   map[string]*fakeSink
	names   map[*peer]string
	pending []*inflight
	lines   []string
	now     time.Time
	// sent remembers frames peers sent, to recognise forwarded bytes.
	sent map[string][][]byte
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	opts = opts.withDefaults()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &harness{
		t:     t,
		opts:  opts,
		peers: map[string]*peer{},
		sinks: map[string]*fakeSink{},
		names: map[*peer]string{},
		now:   time.Unix(1_700_000_000, 0),
		sent:  map[string][][]byte{},
	}
	h.c = newCore("doc", crdt.NewDoc(crdt.Options{ClientID: 999}), 0, &h.opts, opts.Logger)
	return h
}

// exec runs the core's effects and returns the transcript lines they produced.
func (h *harness) exec() string {
	h.lines = h.lines[:0]
	for {
		fx := h.c.takeEffects()
		if len(fx) == 0 {
			break
		}
		for _, e := range fx {
			switch e.kind {
			case effSend:
				if e.peer.gone {
					continue
				}
				name := h.names[e.peer]
				if !e.peer.out.enqueue(e.frame) {
					h.lines = append(h.lines, name+" queue full")
					h.c.leave(e.peer, CloseTryAgain, h.now)
					continue
				}
				h.lines = append(h.lines, name+" <- "+h.describe(e.frame))
			case effClose:
				e.peer.out.close(e.reason)
				h.lines = append(h.lines, fmt.Sprintf("close %s %d", h.names[e.peer], e.reason.Code()))
			case effAppend:
				h.pending = append(h.pending, e.in)
				h.lines = append(h.lines, fmt.Sprintf("append #%d clients=%v %dB", e.in.token, e.in.rec.Clients, len(e.in.rec.Update)))
			}
		}
	}
	return strings.Join(h.lines, "\n")
}

// describe renders a frame for the transcript.
func (h *harness) describe(f []byte) string {
	for name, frames := range h.sent {
		for _, s := range frames {
			if len(s) > 0 && len(f) > 0 && &s[0] == &f[0] && len(s) == len(f) {
				return "frame of " + name
			}
		}
	}
	m, err := decodeMessage(f)
	if err != nil {
		return "garbage"
	}
	switch m.typ {
	case messageSync:
		kind := [...]string{"sync-step1", "sync-step2", "update"}[m.syncType]
		if m.syncType == messageYjsSyncStep1 {
			sv, err := crdt.DecodeStateVector(m.payload)
			require.NoError(h.t, err)
			return fmt.Sprintf("%s %v", kind, map[uint64]uint64(sv))
		}
		return fmt.Sprintf("%s %dB", kind, len(m.payload))
	case messageAwareness:
		entries, err := awareness.DecodeUpdate(m.payload)
		require.NoError(h.t, err)
		parts := []string{"awareness"}
		for _, e := range entries {
			parts = append(parts, fmt.Sprintf("%d@%d=%s", e.ClientID, e.Clock, e.JSON))
		}
		return strings.Join(parts, " ")
	case messageAuth:
		return "auth " + m.reason
	default:
		return fmt.Sprintf("type %d", m.typ)
	}
}

func (h *harness) join(name string) string {
	s := &fakeSink{}
	p := newPeer(s, "user-"+name, h.opts.Logger)
	h.peers[name], h.sinks[name], h.names[p] = p, s, name
	h.c.join(p, h.now)
	return h.exec()
}

func (h *harness) send(name string, frame []byte) string {
	h.sent[name] = append(h.sent[name], frame)
	h.c.receive(h.peers[name], frame, h.now)
	return h.exec()
}

func (h *harness) leave(name string) string {
	h.c.leave(h.peers[name], CloseGoingAway, h.now)
	return h.exec()
}

// ack acknowledges the pending append with token (as the store would, seq = token).
func (h *harness) ack(token uint64, err error) string {
	h.c.acked(token, token, err)
	return h.exec()
}

// ackAll acknowledges every pending append in order.
func (h *harness) ackAll() string {
	var out []string
	for _, in := range h.pending {
		if s := h.ack(in.token, nil); s != "" {
			out = append(out, s)
		}
	}
	h.pending = nil
	return strings.Join(out, "\n")
}

// editor produces real Yjs updates from a client document.
type editor struct {
	doc *crdt.Doc
}

func newEditor(client uint64) *editor {
	return &editor{doc: crdt.NewDoc(crdt.Options{ClientID: client})}
}

// insert inserts s at index of text "t" and returns the update.
func (e *editor) insert(t *testing.T, index int, s string) []byte {
	t.Helper()
	var out []byte
	cancel := e.doc.OnUpdate(func(u []byte, _ any) { out = u })
	defer cancel()
	e.doc.Transact(nil, func(tx *crdt.Transaction) { e.doc.Text("t").Insert(tx, index, s, nil) })
	require.NotNil(t, out)
	return out
}

func awarenessFrame(client, clock uint64, json string) []byte {
	return encodeAwareness(awareness.EncodeEntries([]awareness.Entry{{ClientID: awareness.ClientID(client), Clock: clock, JSON: []byte(json)}}))
}

func text(c *core) string {
	v, _ := c.doc.ToJSON()["t"].(string)
	return v
}

func TestCore_HandshakeUpdateBroadcastAfterAck(t *testing.T) {
	h := newHarness(t, Options{})
	ed := newEditor(1)
	assert.Equal(t, "a <- sync-step1 map[]", h.join("a"))
	assert.Equal(t, "a <- sync-step2 2B", h.send("a", encodeSyncStep1([]byte{0})))

	u1 := ed.insert(t, 0, "hello")
	f1 := encodeSyncUpdate(u1)
	assert.Equal(t, fmt.Sprintf("append #1 clients=[1] %dB", len(u1)), h.send("a", f1))
	assert.Equal(t, "hello", text(h.c), "integrated before the ack")

	// b joins while #1 awaits its ack: its step 2 includes #1, so it waits for that ack.
	assert.Equal(t, "b <- sync-step1 map[1:5]", h.join("b"))
	assert.Equal(t, "", h.send("b", encodeSyncStep1([]byte{0})))

	// The ack releases the broadcast: b gets a's frame, byte for byte and shared, then its
	// step 2; a gets nothing.
	assert.Equal(t, fmt.Sprintf("b <- frame of a\nb <- sync-step2 %dB", len(u1)), h.ack(1, nil))
	assert.Same(t, &f1[0], &h.sinks["b"].frames[1][0])
	assert.Equal(t, uint64(1), h.c.lastSeq)
	assert.True(t, h.c.idle() == false)
}

func TestCore_BroadcastInAppendOrder(t *testing.T) {
	h := newHarness(t, Options{})
	ed := newEditor(1)
	h.join("a")
	h.join("b")
	u1 := ed.insert(t, 0, "a")
	u2 := ed.insert(t, 1, "b")
	h.send("a", encodeSyncUpdate(u1))
	// A step 2 from a peer is re-framed as an update for the others.
	assert.Equal(t, fmt.Sprintf("append #2 clients=[1] %dB", len(u2)), h.send("a", encodeSyncStep2(u2)))
	assert.Equal(t, "", h.ack(2, nil), "#2 waits for #1")
	assert.Equal(t, "b <- frame of a\nb <- update "+fmt.Sprint(len(u2))+"B", h.ack(1, nil))
	assert.Empty(t, h.c.inflight)
}

func TestCore_EchoUpdates(t *testing.T) {
	h := newHarness(t, Options{EchoUpdates: true})
	h.join("a")
	h.join("b")
	h.send("a", encodeSyncUpdate(newEditor(1).insert(t, 0, "x")))
	assert.Equal(t, "a <- frame of a\nb <- frame of a", h.ack(1, nil))
}

func TestCore_NoOpUpdateIsNotStoredOrSent(t *testing.T) {
	h := newHarness(t, Options{})
	h.join("a")
	h.join("b")
	u := newEditor(1).insert(t, 0, "x")
	h.send("a", encodeSyncUpdate(u))
	h.ackAll()
	assert.Equal(t, "", h.send("a", encodeSyncUpdate(u)), "a repeated update changes nothing")
	assert.Equal(t, "", h.send("b", encodeSyncStep2(u)))
	assert.True(t, h.c.idle() == false && len(h.c.inflight) == 0)
}

func TestCore_HostileInputClosesOnlyThatPeer(t *testing.T) {
	good := newEditor(1).insert(t, 0, "ok")
	tests := []struct {
		name  string
		frame []byte
		code  int
	}{
		{"garbage", []byte{0xde, 0xad, 0xbe, 0xef}, 4400},
		{"truncated frame", encodeSyncUpdate(good)[:5], 4400},
		{"unknown message type", []byte{7, 0}, 4400},
		{"malformed update", encodeSyncUpdate([]byte{1, 1, 5, 0, 0xff}), 4400},
		{"truncated update", encodeSyncUpdate(good[:len(good)-2]), 4400},
		{"malformed state vector", encodeSyncStep1([]byte{3, 1}), 4400},
		{"malformed awareness", encodeAwareness([]byte{1, 5}), 4400},
		{"awareness state too large", awarenessFrame(7, 1, `"`+strings.Repeat("x", 200)+`"`), 4413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxAwarenessStateBytes: 100})
			h.join("a")
			h.join("b")
			h.send("b", awarenessFrame(20, 1, `{"name":"b"}`))
			sv := h.c.doc.EncodeStateVector()
			assert.Equal(t, fmt.Sprintf("close a %d", tt.code), h.send("a", tt.frame))
			assert.Equal(t, sv, h.c.doc.EncodeStateVector(), "document unchanged")
			assert.Empty(t, h.pending)
			// b carries on.
			assert.Equal(t, fmt.Sprintf("append #1 clients=[1] %dB", len(good)), h.send("b", encodeSyncUpdate(good)))
			assert.Equal(t, "", h.ack(1, nil), "a is gone, b sent it")
			assert.Equal(t, "", h.send("a", encodeSyncUpdate(good)), "frames from a closed peer are ignored")
		})
	}
}

func TestCore_SlowPeerClosedWith1013(t *testing.T) {
	h := newHarness(t, Options{})
	h.join("a")
	h.join("b")
	h.join("c")
	h.send("b", awarenessFrame(20, 1, `{"n":"b"}`))
	h.sinks["b"].full = true
	h.send("a", encodeSyncUpdate(newEditor(1).insert(t, 0, "x")))
	// b's queue is full: b is closed with 1013 and its awareness removal goes to the others.
	assert.Equal(t, strings.Join([]string{
		"b queue full",
		"c <- frame of a",
		"close b 1013",
		"a <- awareness 20@1=null",
		"c <- awareness 20@1=null",
	}, "\n"), h.ack(1, nil))
	assert.Equal(t, CloseTryAgain, h.sinks["b"].closed)
}

func TestCore_Awareness(t *testing.T) {
	h := newHarness(t, Options{})
	h.join("a")
	assert.Equal(t, "a <- awareness 10@1={\"n\":\"a\"}", h.send("a", awarenessFrame(10, 1, `{"n":"a"}`)), "echoed to its sender")
	assert.Equal(t, "b <- sync-step1 map[]\nb <- awareness 10@1={\"n\":\"a\"}", h.join("b"), "a newcomer gets the current states")
	assert.Equal(t, "", h.send("b", awarenessFrame(10, 1, `{"n":"a"}`)), "echo of a known clock is ignored")
	assert.Equal(t, "", h.send("b", awarenessFrame(10, 5, `{"n":"spoof"}`)), "b may not change a's client")
	assert.Equal(t, "a <- awareness 10@2={\"n\":\"a2\"}\nb <- awareness 10@2={\"n\":\"a2\"}", h.send("a", awarenessFrame(10, 2, `{"n":"a2"}`)))
	assert.Equal(t, "b <- awareness 10@2={\"n\":\"a2\"}", h.send("b", []byte{messageQueryAwareness}))
	// a leaves: its client is removed and the removal broadcast.
	assert.Equal(t, "close a 1001\nb <- awareness 10@2=null", h.leave("a"))
	assert.Equal(t, "b <- awareness 0", h.send("b", []byte{messageQueryAwareness})[:len("b <- awareness")]+" 0")
}

func TestCore_AwarenessTimeout(t *testing.T) {
	h := newHarness(t, Options{AwarenessTimeout: 30 * time.Second})
	h.join("a")
	h.join("b")
	h.send("a", awarenessFrame(10, 1, `{}`))
	h.c.tick(h.now.Add(29 * time.Second))
	assert.Equal(t, "", h.exec())
	h.c.tick(h.now.Add(31 * time.Second))
	assert.Equal(t, "a <- awareness 10@1=null\nb <- awareness 10@1=null", h.exec())
}

func TestCore_PendingCap(t *testing.T) {
	h := newHarness(t, Options{MaxPendingBytes: 40})
	ed := newEditor(1)
	ed.insert(t, 0, "base") // never sent: later updates depend on it
	h.join("a")
	h.join("b")
	u2 := ed.insert(t, 4, "-one")
	u3 := ed.insert(t, 8, "-two-and-more-text-to-pass-the-cap")
	out := h.send("a", encodeSyncUpdate(u2))
	assert.Equal(t, fmt.Sprintf("append #1 clients=[] %dB", len(u2)), out, "pending updates are kept and stored (no client advanced yet)")
	structs, _ := h.c.doc.HasPending()
	require.True(t, structs)
	out = h.send("a", encodeSyncUpdate(u3))
	assert.Equal(t, fmt.Sprintf("append #2 clients=[] %dB\nclose a 4422", len(u3)), out)
}

func TestCore_StorageFailureClosesEveryPeer(t *testing.T) {
	h := newHarness(t, Options{})
	h.join("a")
	h.join("b")
	reply := make(chan error, 1)
	h.send("a", encodeSyncUpdate(newEditor(1).insert(t, 0, "x")))
	h.c.applyLocal(newEditor(2).insert(t, 0, "y"), reply, h.now)
	h.exec()
	assert.Equal(t, "close a 1011\nclose b 1011", h.ack(1, errors.New("disk full")))
	require.Error(t, h.c.failed)
	assert.ErrorIs(t, <-reply, errStorage)
}

func TestCore_ServerSideApply(t *testing.T) {
	h := newHarness(t, Options{})
	h.join("a")
	reply := make(chan error, 1)
	u := newEditor(2).insert(t, 0, "srv")
	h.c.applyLocal(u, reply, h.now)
	assert.Equal(t, fmt.Sprintf("append #1 clients=[2] %dB", len(u)), h.exec())
	assert.Empty(t, reply, "no reply before the ack")
	assert.Equal(t, fmt.Sprintf("a <- update %dB", len(u)), h.ack(1, nil))
	assert.NoError(t, <-reply)

	// A no-op edit is answered at once when nothing is in flight.
	h.c.applyLocal(u, reply, h.now)
	assert.Equal(t, "", h.exec())
	assert.NoError(t, <-reply)

	// A malformed one is refused, the document unchanged.
	h.c.applyLocal([]byte{9, 9, 9}, reply, h.now)
	assert.ErrorIs(t, <-reply, ErrBadUpdate)
	assert.Equal(t, "srv", text(h.c))
}

func TestCore_JoinStormSharesFullState(t *testing.T) {
	h := newHarness(t, Options{})
	h.join("a")
	h.send("a", encodeSyncUpdate(newEditor(1).insert(t, 0, "shared")))
	h.ackAll()
	h.join("b")
	h.join("c")
	h.send("b", encodeSyncStep1([]byte{0}))
	h.send("c", encodeSyncStep1([]byte{0}))
	fb, fc := h.sinks["b"].frames[1], h.sinks["c"].frames[1]
	assert.Same(t, &fb[0], &fc[0], "one encoding shared by both joiners")
	m, err := decodeMessage(fb)
	require.NoError(t, err)
	d := crdt.NewDoc(crdt.Options{})
	require.NoError(t, d.ApplyUpdate(m.payload))
	assert.Equal(t, "shared", d.ToJSON()["t"])

	// A change invalidates the cache.
	h.send("a", encodeSyncUpdate(newEditor(2).insert(t, 0, ">")))
	h.ackAll()
	h.join("d")
	h.send("d", encodeSyncStep1([]byte{0}))
	fd := h.sinks["d"].frames[1]
	assert.False(t, bytes.Equal(fb, fd))
}

func TestCore_Step2HeldUntilEarlierAppendsAreDurable(t *testing.T) {
	h := newHarness(t, Options{})
	ed := newEditor(1)
	h.join("a")
	h.join("b")
	u1 := ed.insert(t, 0, "one")
	u2 := ed.insert(t, 3, "two")
	h.send("a", encodeSyncUpdate(u1))
	h.send("a", encodeSyncUpdate(u2))

	// c joins with an empty document and d with #1 already: both answers are computed now
	// (they include #2) but neither leaves before #2 is acknowledged.
	h.join("c")
	h.join("d")
	assert.Equal(t, "", h.send("c", encodeSyncStep1([]byte{0})))
	d := crdt.NewDoc(crdt.Options{})
	require.NoError(t, d.ApplyUpdate(u1))
	assert.Equal(t, "", h.send("d", encodeSyncStep1(d.EncodeStateVector())))
	assert.Len(t, h.c.inflight, 4)

	assert.Equal(t, "b <- frame of a\nc <- frame of a\nd <- frame of a", h.ack(1, nil), "#1 is durable, #2 is not: no step 2 yet")
	out := strings.Split(h.ack(2, nil), "\n")
	require.Len(t, out, 5)
	assert.Equal(t, []string{"b <- frame of a", "c <- frame of a", "d <- frame of a"}, out[:3])
	assert.Regexp(t, `^c <- sync-step2 \d+B$`, out[3])
	assert.Regexp(t, `^d <- sync-step2 \d+B$`, out[4])
	assert.Empty(t, h.c.inflight)

	// The held step 2 holds both updates; b's step 2 with nothing in flight goes at once.
	c := crdt.NewDoc(crdt.Options{})
	m, err := decodeMessage(h.sinks["c"].frames[len(h.sinks["c"].frames)-1])
	require.NoError(t, err)
	require.NoError(t, c.ApplyUpdate(m.payload))
	assert.Equal(t, "onetwo", c.ToJSON()["t"])
	assert.Equal(t, "b <- sync-step2", h.send("b", encodeSyncStep1([]byte{0}))[:len("b <- sync-step2")])

	// A peer that leaves while its step 2 waits gets nothing, and the queue drains.
	h.send("a", encodeSyncUpdate(ed.insert(t, 6, "three")))
	h.join("e")
	h.send("e", encodeSyncStep1([]byte{0}))
	h.leave("e")
	n := len(h.sinks["e"].frames)
	h.ackAll()
	assert.Len(t, h.sinks["e"].frames, n)
	assert.Empty(t, h.c.inflight)
	assert.True(t, h.c.idle() == false)
}
