//go:build linux

package docsync

import (
	"sync"
	"syscall"
)

// idlePoller parks the readers of quiet connections without a goroutine each: a parked
// connection's socket sits in an epoll set of the server's (one-shot), and one goroutine
// waits on that set and starts a reader for each connection that has input again. A quiet
// connection then costs no goroutine and no stack (readLoop). Sockets stay registered with
// Go's own poller as well; this set only says when to start reading again.
type idlePoller struct {
	epfd int
	pipe [2]int // writing to pipe[1] stops run

	mu     sync.Mutex
	conns  map[uint64]*conn // parked connections by id (conn.pollID)
	next   uint64
	closed bool

	stopOnce sync.Once
	done     chan struct{} // closed when run has returned
}

// pollWake is the event id of the stop pipe; connections' ids start at 1.
const pollWake = 0

// newIdlePoller starts a poller, or returns nil if epoll is not available.
func newIdlePoller() *idlePoller {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	p := &idlePoller{epfd: epfd, conns: make(map[uint64]*conn), done: make(chan struct{})}
	if err := syscall.Pipe2(p.pipe[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // id pollWake
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.pipe[0], &ev); err != nil {
		syscall.Close(p.pipe[0])
		syscall.Close(p.pipe[1])
		syscall.Close(epfd)
		return nil
	}
	go p.run()
	return p
}

// run waits for parked sockets to have input (or hang up, or fail) and resumes their readers.
func (p *idlePoller) run() {
	defer close(p.done)
	defer func() {
		syscall.Close(p.pipe[0])
		syscall.Close(p.pipe[1])
		syscall.Close(p.epfd)
	}()
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			p.resumeAll() // cannot wait any more: every parked reader goes back to reading
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == pollWake {
				p.resumeAll()
				return
			}
			p.mu.Lock()
			c := p.conns[id]
			delete(p.conns, id)
			p.mu.Unlock()
			if c != nil {
				c.resume()
			}
		}
	}
}

// resumeAll stops parking and resumes every parked reader.
func (p *idlePoller) resumeAll() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.resume()
	}
}

// park registers c's socket for one input event and marks c parked. It returns false if it
// could not (the caller then waits with a goroutine); true means the reading goroutine must
// return: the reader resumes on the next input (or has resumed already).
func (p *idlePoller) park(c *conn) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if c.pollID == 0 {
		p.next++
		c.pollID = p.next
	}
	id := c.pollID
	p.conns[id] = c
	c.parked.Store(true)
	p.mu.Unlock()
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(id)),
		Pad:    int32(uint32(id >> 32)),
	}
	var err error
	// Control keeps the descriptor from being closed (and reused) meanwhile.
	cerr := c.waiter.rc.Control(func(fd uintptr) {
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if err == syscall.ENOENT {
			err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
	})
	if cerr == nil && err == nil {
		return true
	}
	p.forget(c)
	// A close may have resumed c meanwhile; then that reader reads.
	return !c.parked.CompareAndSwap(true, false)
}

// forget drops c from the parked set (its socket is closing, or parking failed).
func (p *idlePoller) forget(c *conn) {
	p.mu.Lock()
	if p.conns != nil {
		delete(p.conns, c.pollID)
	}
	p.mu.Unlock()
}

// stop ends run (after resuming any parked reader) and waits for it.
func (p *idlePoller) stop() {
	p.stopOnce.Do(func() {
		_, _ = syscall.Write(p.pipe[1], []byte{0})
	})
	<-p.done
}
