package awareness_test

import (
	"fmt"
	"time"

	"github.com/tandemsync/tandem/awareness"
)

// Example shows a document actor's use of a State: apply what a connection sends, broadcast
// the result, greet a newcomer, clean up on close and on timeout.
func Example() {
	st, err := awareness.New[string](awareness.Options{})
	if err != nil {
		panic(err)
	}
	now := time.Unix(1000, 0)

	// Connection "alice" announces client 7 at clock 1 (the bytes of an awareness message body).
	in := awareness.EncodeEntries([]awareness.Entry{{ClientID: 7, Clock: 1, JSON: []byte(`{"user":"alice"}`)}})
	ch, err := st.ApplyUpdate(in, now, "alice")
	if err != nil {
		panic(err) // a real server logs the error and keeps the connection
	}
	fmt.Printf("added %v, broadcast %x\n", ch.Added, ch.Update)

	// A new connection gets every state in one update.
	fmt.Printf("snapshot %x\n", st.EncodeAll())

	// Another connection may not change client 7.
	spoof := awareness.EncodeEntries([]awareness.Entry{{ClientID: 7, Clock: 2, JSON: []byte(`{}`)}})
	_, err = st.ApplyUpdate(spoof, now, "mallory")
	fmt.Println(err)

	// Alice's connection closes: her client is removed, null at its retained clock.
	ch = st.RemoveOwner("alice", now.Add(time.Second))
	fmt.Printf("removed %v, broadcast %x\n", ch.Removed, ch.Update)

	// Output:
	// added [7], broadcast 010701107b2275736572223a22616c696365227d
	// snapshot 010701107b2275736572223a22616c696365227d
	// awareness: client id belongs to another owner: client 7 (entry 0)
	// removed [7], broadcast 010701046e756c6c
}
