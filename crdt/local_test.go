package crdt

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLocalEdits_MatchYjs replays the local edits of testdata/local/gen.mjs and compares each
// transaction's update, and the final state, with the bytes real Yjs 13.6.33 emitted.
func TestLocalEdits_MatchYjs(t *testing.T) {
	b, err := os.ReadFile("testdata/local/local_edits.json")
	require.NoError(t, err)
	var want struct {
		Out   []string `json:"out"`
		XML   string   `json:"xml"`
		State string   `json:"state"`
	}
	require.NoError(t, json.Unmarshal(b, &want))

	d := NewDoc(Options{ClientID: 5})
	var got []string
	d.OnUpdate(func(u []byte, _ any) { got = append(got, hex.EncodeToString(u)) })
	do := func(f func(tx *Transaction)) { d.Transact(nil, f) }
	tt := d.Text("t")
	do(func(x *Transaction) { tt.Insert(x, 0, "hello world", nil) })
	do(func(x *Transaction) { tt.Format(x, 2, 5, map[string]any{"bold": true}) })
	do(func(x *Transaction) { tt.Insert(x, 4, "X", nil) })
	do(func(x *Transaction) { tt.Insert(x, 7, "Y", map[string]any{"italic": true}) })
	do(func(x *Transaction) { tt.Insert(x, 0, "Z", map[string]any{}) })
	do(func(x *Transaction) { tt.Format(x, 0, 20, map[string]any{"bold": nil, "color": "red"}) })
	do(func(x *Transaction) { tt.Delete(x, 3, 4) })
	do(func(x *Transaction) {
		tt.InsertEmbed(x, 2, map[string]any{"image": "a.png"}, map[string]any{"link": "x"})
	})
	do(func(x *Transaction) { tt.Insert(x, tt.Len(), "end", nil) })
	do(func(x *Transaction) { tt.Format(x, 1, 2, map[string]any{"10": 1, "b": 2, "a": 3}) })
	m := d.Map("m")
	do(func(x *Transaction) { m.Set(x, "a", 1) })
	do(func(x *Transaction) {
		nt := NewText()
		nt.Insert(nil, 0, "hi", nil)
		m.Set(x, "b", nt)
	})
	do(func(x *Transaction) { m.Set(x, "a", "x") })
	do(func(x *Transaction) { m.Delete(x, "b") })
	a := d.Array("a")
	do(func(x *Transaction) { a.Insert(x, 0, 1, 2, []byte{1, 2}, 3, NewMap(), "q") })
	do(func(x *Transaction) { a.Push(x, 7) })
	do(func(x *Transaction) { a.Delete(x, 1, 3) })
	do(func(x *Transaction) { a.Insert(x, 2, 8, 9) })
	do(func(x *Transaction) {
		nm := NewMap()
		nm.Set(nil, "k", 1)
		nm.Set(nil, "j", NewArray())
		a.Insert(x, 0, nm)
	})
	x := d.XmlFragment("x")
	p := NewXmlElement("Para")
	p.SetAttribute(nil, "class", "a")
	p.SetAttribute(nil, "n", 5)
	xt := NewXmlText()
	xt.Insert(nil, 0, "hi there", map[string]any{"bold": true})
	p.Insert(nil, 0, xt)
	do(func(tx *Transaction) { x.Insert(tx, 0, p) })
	do(func(tx *Transaction) {
		tail := NewXmlText()
		tail.Insert(nil, 0, "tail", nil)
		x.Insert(tx, 1, tail)
	})
	do(func(tx *Transaction) {
		xt.Format(tx, 1, 3, map[string]any{"italic": true, "link": map[string]any{"href": "u"}})
	})
	do(func(tx *Transaction) { p.RemoveAttribute(tx, "class") })
	do(func(tx *Transaction) {
		img := NewXmlElement("img")
		img.SetAttribute(nil, "src", "c.png")
		p.Insert(tx, 1, img)
	})
	assert.Equal(t, want.XML, x.String())
	assert.Equal(t, want.Out, got, "per-transaction updates")
	st, err := d.EncodeStateAsUpdate(nil)
	require.NoError(t, err)
	assert.Equal(t, want.State, hex.EncodeToString(st), "final state")
}
