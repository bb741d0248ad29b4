package docsync

import (
	"fmt"
	"testing"
	"time"

	"github.com/tandemsync/tandem/crdt"
)

// BenchmarkCore_UpdateFanOut measures one typed character going through the core: decode,
// integrate, append, acknowledge and broadcast to every other peer.
func BenchmarkCore_UpdateFanOut(b *testing.B) {
	for _, peers := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("peers=%d", peers), func(b *testing.B) {
			opts := Options{}.withDefaults()
			opts.Logger = quiet()
			c := newCore("doc", crdt.NewDoc(crdt.Options{ClientID: 9}), 0, &opts, opts.Logger)
			ps := make([]*peer, peers)
			sinks := make([]*fakeSink, peers)
			for i := range ps {
				sinks[i] = &fakeSink{}
				ps[i] = newPeer(sinks[i], "", opts.Logger)
				c.join(ps[i], time.Unix(0, 0))
			}
			// Pre-generate the updates of a typist.
			src := crdt.NewDoc(crdt.Options{ClientID: 1})
			frames := make([][]byte, b.N)
			i := 0
			src.OnUpdate(func(u []byte, _ any) { frames[i] = encodeSyncUpdate(u) })
			for i = 0; i < b.N; i++ {
				src.Transact(nil, func(tx *crdt.Transaction) { src.Text("t").Insert(tx, i, "x", nil) })
			}
			c.takeEffects()
			now := time.Unix(1, 0)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				c.receive(ps[0], frames[n], now)
				for _, e := range c.takeEffects() {
					if e.kind == effAppend {
						c.acked(e.in.token, e.in.token, nil)
					}
				}
				for _, e := range c.takeEffects() {
					if e.kind == effSend {
						e.peer.out.enqueue(e.frame)
					}
				}
				if n%1024 == 0 {
					for _, s := range sinks {
						s.frames = s.frames[:0]
					}
				}
			}
		})
	}
}
