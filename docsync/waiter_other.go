//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package docsync

import "net"

// inputWaiter is not available on this platform: readers wait in gorilla's NextReader.
type inputWaiter struct{}

func newInputWaiter(net.Conn) *inputWaiter { return nil }
func (*inputWaiter) ready() bool           { return true }
func (*inputWaiter) wait()                 {}
