//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package docsync

import (
	"net"
	"syscall"
)

// inputWaiter waits until a socket has input, without reading it.
type inputWaiter struct{ rc syscall.RawConn }

// newInputWaiter returns a waiter for c, or nil if c is not a plain socket (TLS, for one:
// its own buffers can hold input the socket no longer has).
func newInputWaiter(c net.Conn) *inputWaiter {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &inputWaiter{rc}
}

// ready reports whether a read would not block: input, the end of the stream or an error is
// pending.
func (w *inputWaiter) ready() bool {
	ready := true
	_ = w.rc.Read(func(fd uintptr) bool {
		ready = readable(fd)
		return true
	})
	return ready
}

// wait returns once ready would be true, the read deadline has passed or the socket was
// closed.
func (w *inputWaiter) wait() {
	_ = w.rc.Read(readable)
}

// readable peeks at the (non-blocking) socket: false only when it has nothing to read yet.
func readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
}
