package persistence_test

import (
	"context"
	"fmt"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// A document actor appends every accepted update and broadcasts it once the ack arrives;
// a later load rebuilds the document from the store.
func Example() {
	store := persistence.NewMemoryStore() // persistence.Open("tandem.db", persistence.Options{}) on disk
	defer store.Close()

	editor := crdt.NewDoc(crdt.Options{ClientID: 1})
	acked := make(chan uint64, 1)
	editor.OnUpdate(func(update []byte, _ any) {
		store.Append("notes", persistence.Record{Clients: []uint64{1}, Update: update}, func(seq uint64, err error) {
			if err == nil {
				acked <- seq // now it is durable: broadcast
			}
		})
	})
	editor.Transact(nil, func(tx *crdt.Transaction) { editor.Text("content").Insert(tx, 0, "hello", nil) })
	fmt.Println("acked seq", <-acked)

	doc, last, err := persistence.LoadDoc(context.Background(), store, "notes", crdt.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(last, doc.Text("content").String())
	// Output:
	// acked seq 1
	// 1 hello
}
