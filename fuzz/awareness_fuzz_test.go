package fuzz

import (
	"bytes"
	"testing"
	"time"

	"github.com/tandemsync/tandem/awareness"
)

// FuzzAwarenessUpdate applies arbitrary bytes as an awareness update from one connection to a
// State that already holds another connection's client. A refused update must leave the State
// unchanged; an accepted one must broadcast an update that decodes and that another State
// accepts.
func FuzzAwarenessUpdate(f *testing.F) {
	for _, s := range vectorSeeds(f, "awareness") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxInput {
			return
		}
		now := time.Unix(1_700_000_000, 0)
		s, err := awareness.New[string](awareness.Options{})
		if err != nil {
			t.Fatal(err)
		}
		seed := awareness.EncodeEntries([]awareness.Entry{{ClientID: 7, Clock: 3, JSON: []byte(`{"user":"a"}`)}})
		if _, err := s.ApplyUpdate(seed, now, "a"); err != nil {
			t.Fatalf("seed refused: %v", err)
		}
		before := s.EncodeAll()
		ch, err := s.ApplyUpdate(data, now, "b")
		if err != nil {
			if after := s.EncodeAll(); !bytes.Equal(before, after) {
				t.Fatalf("refused update changed the state: %v", err)
			}
			return
		}
		if ch.Update == nil {
			return
		}
		if _, err := awareness.DecodeUpdate(ch.Update); err != nil {
			t.Fatalf("broadcast update does not decode: %v", err)
		}
		other, _ := awareness.New[string](awareness.Options{})
		if _, err := other.ApplyUpdate(ch.Update, now, "server"); err != nil {
			t.Fatalf("broadcast update refused by a fresh state: %v", err)
		}
	})
}
