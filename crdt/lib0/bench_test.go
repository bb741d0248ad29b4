package lib0_test

import (
	"strings"
	"testing"

	"github.com/tandemsync/tandem/crdt/lib0"
)

func BenchmarkReadVarUint(b *testing.B) {
	for _, bc := range []struct {
		name string
		v    uint64
	}{{"1byte", 100}, {"5bytes", 1 << 32}, {"8bytes", 1<<53 - 1}} {
		b.Run(bc.name, func(b *testing.B) {
			var e lib0.Encoder
			for range 1024 {
				e.WriteVarUint(bc.v)
			}
			in := e.Bytes()
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				d := lib0.NewDecoder(in)
				for d.Remaining() > 0 {
					if _, err := d.ReadVarUint(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func BenchmarkReadVarString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ascii16", strings.Repeat("a", 16)},
		{"ascii1k", strings.Repeat("a", 1024)},
		{"mixed1k", strings.Repeat("aé中😀", 100)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var e lib0.Encoder
			e.WriteVarString(bc.s)
			in := e.Bytes()
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				d := lib0.NewDecoder(in)
				if _, err := d.ReadVarString(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteAny(b *testing.B) {
	obj := lib0.Object{
		{Key: "bold", Value: true},
		{Key: "href", Value: "https://example.com/"},
		{Key: "size", Value: 12.5},
		{Key: "list", Value: []any{1.0, 2.0, "three", nil}},
	}
	for _, bc := range []struct {
		name string
		v    any
	}{
		{"int", 42.0},
		{"float64", 1.1},
		{"string", "hello world"},
		{"object", obj},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var e lib0.Encoder
			b.ReportAllocs()
			for b.Loop() {
				e.Reset()
				e.WriteAny(bc.v)
			}
		})
	}
}

func BenchmarkReadAny(b *testing.B) {
	var e lib0.Encoder
	e.WriteAny(lib0.Object{{Key: "bold", Value: true}, {Key: "n", Value: 3.0}, {Key: "s", Value: "x"}})
	in := e.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib0.NewDecoder(in).ReadAny(); err != nil {
			b.Fatal(err)
		}
	}
}
