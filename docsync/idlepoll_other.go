//go:build !linux

package docsync

// idlePoller is Linux only (epoll); elsewhere a quiet reader waits on a small goroutine.
type idlePoller struct{}

func newIdlePoller() *idlePoller    { return nil }
func (*idlePoller) park(*conn) bool { return false }
func (*idlePoller) forget(*conn)    {}
func (*idlePoller) stop()           {}
