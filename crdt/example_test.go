package crdt_test

import (
	"fmt"

	"github.com/tandemsync/tandem/crdt"
)

// Two replicas: every update one emits is applied by the other.
func ExampleDoc_OnUpdate() {
	a := crdt.NewDoc(crdt.Options{ClientID: 1})
	b := crdt.NewDoc(crdt.Options{ClientID: 2})
	a.OnUpdate(func(update []byte, origin any) {
		if err := b.ApplyUpdate(update); err != nil {
			panic(err)
		}
	})
	a.Transact("local", func(tx *crdt.Transaction) {
		a.Text("notes").Insert(tx, 0, "hello world", nil)
		a.Text("notes").Format(tx, 0, 5, map[string]any{"bold": true})
		a.Map("meta").Set(tx, "title", "Greeting")
	})
	fmt.Println(b.Text("notes").String())
	fmt.Println(b.Text("notes").Delta())
	fmt.Println(b.Map("meta").ToJSON())
	// Output:
	// hello world
	// [{hello map[bold:true]} { world map[]}]
	// map[title:Greeting]
}

// A peer that knows part of the document asks only for what it lacks.
func ExampleDoc_EncodeStateAsUpdate() {
	server := crdt.NewDoc(crdt.Options{ClientID: 7})
	server.Transact(nil, func(tx *crdt.Transaction) { server.Array("list").Push(tx, 1, "two") })

	client := crdt.NewDoc(crdt.Options{ClientID: 8})
	diff, err := server.EncodeStateAsUpdate(client.EncodeStateVector())
	if err != nil {
		panic(err)
	}
	if err := client.ApplyUpdate(diff); err != nil {
		panic(err)
	}
	fmt.Println(client.Array("list").ToJSON(), client.StateVector())
	// Output: [1 two] map[7:2]
}
