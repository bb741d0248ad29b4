package docsync

import (
	"testing"
	"time"

	"github.com/tandemsync/tandem/crdt"
)

// FuzzCore_Receive feeds arbitrary frames from one peer to a document core that another peer
// shares. Whatever the bytes, the core must not panic, must close only the sender (if anyone),
// and must keep serving the other peer. Run: go test ./docsync -run='^$' -fuzz='^FuzzCore_Receive$'
func FuzzCore_Receive(f *testing.F) {
	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	var ups [][]byte
	d.OnUpdate(func(u []byte, _ any) { ups = append(ups, u) })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Insert(tx, 0, "hello", nil) })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Insert(tx, 5, " world", nil) })
	u1, u2 := ups[0], ups[1]
	for _, seed := range [][]byte{
		encodeSyncStep1([]byte{0}),
		encodeSyncStep1([]byte{1, 1, 5}),
		encodeSyncStep2(u1),
		encodeSyncUpdate(u2),
		encodeSyncUpdate(u1[:len(u1)-1]),
		awarenessFrame(10, 1, `{"a":1}`),
		awarenessFrame(10, 1, `null`),
		{messageQueryAwareness},
		encodeAuthDenied("x"),
		{0, 2, 3, 1, 1, 1},
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		opts := Options{}.withDefaults()
		opts.Logger = quiet()
		c := newCore("doc", crdt.NewDoc(crdt.Options{ClientID: 9}), 0, &opts, opts.Logger)
		sa, sb := &fakeSink{}, &fakeSink{}
		a, b := newPeer(sa, "", opts.Logger), newPeer(sb, "", opts.Logger)
		now := time.Unix(1, 0)
		c.join(a, now)
		c.join(b, now)
		c.receive(a, frame, now)
		c.receive(a, frame, now) // twice: duplicates must be harmless
		for _, in := range c.inflight {
			c.acked(in.token, in.token, nil)
		}
		deliver(c)
		if sb.closed != 0 {
			t.Fatalf("the other peer was closed with %v", sb.closed)
		}
		if c.failed != nil {
			t.Fatalf("document failed: %v", c.failed)
		}
		// b still gets answers.
		n := len(sb.frames)
		c.receive(b, encodeSyncStep1([]byte{0}), now)
		deliver(c)
		if len(sb.frames) != n+1 {
			t.Fatalf("b got no step 2")
		}
		if _, err := c.doc.EncodeStateAsUpdate(nil); err != nil {
			t.Fatalf("document no longer encodes: %v", err)
		}
	})
}

// deliver executes the core's effects on fake sinks.
func deliver(c *core) {
	for fx := c.takeEffects(); len(fx) > 0; fx = c.takeEffects() {
		for _, e := range fx {
			switch e.kind {
			case effSend:
				e.peer.out.enqueue(e.frame)
			case effClose:
				e.peer.out.close(e.reason)
			}
		}
	}
}
