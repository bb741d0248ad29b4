package docsync

import (
	"sync/atomic"
	"time"
)

// lingerTick is the period of the linger clock: a writer whose queue has emptied waits two
// ticks (25 to 50 ms) for more frames before it exits. Longer keeps more writers (and their
// grown stacks) alive after a burst of joins; shorter wakes lingering writers more often.
const lingerTick = 25 * time.Millisecond

// lingerAfter is how many batches in a row, each within lingerTick of the one before, make a
// peer busy enough for its writer to linger. A join brings two or three.
const lingerAfter = 4

// lingerClock is a coarse clock shared by a server's lingering writers (conn.linger), so
// that waiting costs them no timer each: next returns a channel that is closed at the next
// tick. It ticks only while it is used.
type lingerClock struct {
	ch    atomic.Pointer[chan struct{}]
	used  atomic.Bool // next was called since the last tick
	armed atomic.Bool // a tick is scheduled
}

func newLingerClock() *lingerClock {
	l := &lingerClock{}
	ch := make(chan struct{})
	l.ch.Store(&ch)
	return l
}

// next returns a channel that is closed at the next tick, between now and lingerTick from
// now.
func (l *lingerClock) next() <-chan struct{} {
	ch := *l.ch.Load()
	l.used.Store(true)
	if l.armed.CompareAndSwap(false, true) {
		time.AfterFunc(lingerTick, l.tick)
	}
	return ch
}

// tick closes the current channel and schedules the next tick if the clock was used since
// the last one.
func (l *lingerClock) tick() {
	ch := make(chan struct{})
	close(*l.ch.Swap(&ch))
	if l.used.Swap(false) {
		time.AfterFunc(lingerTick, l.tick)
		return
	}
	l.armed.Store(false)
	// A next that saw armed still set after this tick's Swap has set used: it must not be
	// left without a tick.
	if l.used.Load() && l.armed.CompareAndSwap(false, true) {
		time.AfterFunc(lingerTick, l.tick)
	}
}
