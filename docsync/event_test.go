package docsync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEvent(t *testing.T) {
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	var e event
	assert.False(t, e.isSet())
	early := e.wait()
	assert.False(t, closed(early))
	go e.fire()
	select {
	case <-early:
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter from before fire is not woken")
	}
	e.fire() // again: no panic
	assert.True(t, e.isSet())
	assert.True(t, closed(e.wait()))

	var late event
	late.fire()
	assert.True(t, late.isSet())
	assert.True(t, closed(late.wait()), "a waiter from after fire returns at once")
}
