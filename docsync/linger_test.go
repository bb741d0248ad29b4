package docsync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLingerClock(t *testing.T) {
	l := newLingerClock()
	wait := func(ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("the linger clock did not tick")
		}
	}
	first := l.next()
	wait(first)
	second := l.next()
	assert.NotEqual(t, first, second, "each tick has its own channel")
	wait(second)
	// Unused for a few ticks, the clock stops; used again, it starts again.
	require.Eventually(t, func() bool { return !l.armed.Load() }, 5*time.Second, lingerTick)
	wait(l.next())
	// Many waiters on one tick are all woken.
	chs := make([]<-chan struct{}, 100)
	for i := range chs {
		chs[i] = l.next()
	}
	for _, ch := range chs {
		wait(ch)
	}
}
