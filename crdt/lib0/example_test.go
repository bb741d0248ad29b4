package lib0_test

import (
	"fmt"

	"github.com/tandemsync/tandem/crdt/lib0"
)

func ExampleEncoder_WriteAny() {
	var e lib0.Encoder
	e.WriteAny(lib0.Object{{Key: "b", Value: "x"}, {Key: "1", Value: 1.5}})
	fmt.Printf("% x\n", e.Bytes())

	v, err := lib0.NewDecoder(e.Bytes()).ReadAny()
	if err != nil {
		panic(err)
	}
	fmt.Println(lib0.StringifyJSON(v))
	// Output:
	// 76 02 01 31 7c 3f c0 00 00 01 62 77 01 78
	// {"1":1.5,"b":"x"}
}

func ExampleDecoder_ReadVarInt() {
	d := lib0.NewDecoder([]byte{0x40, 0xc0, 0x01})
	m, neg, _ := d.ReadVarInt()
	fmt.Println(m, neg) // −0
	m, neg, _ = d.ReadVarInt()
	fmt.Println(m, neg)
	// Output:
	// 0 true
	// 64 true
}
