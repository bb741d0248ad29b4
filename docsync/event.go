package docsync

import (
	"sync"
	"sync/atomic"
)

// event is a one-shot signal, like a channel that is closed once, except that the channel is
// made only if somebody waits on it. A connection has three (closing, reader done, writer
// done); an idle one waits on none, which saves it three channels.
type event struct {
	fired atomic.Bool
	mu    sync.Mutex
	ch    chan struct{} // nil until wait is called
}

// fire signals the event; only the first call counts.
func (e *event) fire() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.fired.Swap(true) && e.ch != nil {
		close(e.ch)
	}
}

// isSet reports whether fire has been called.
func (e *event) isSet() bool { return e.fired.Load() }

// wait returns a channel that is closed once the event fires.
func (e *event) wait() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ch == nil {
		e.ch = make(chan struct{})
		if e.fired.Load() {
			close(e.ch)
		}
	}
	return e.ch
}
