package docsync

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// readBufferSize is the size of each connection's read buffer. Messages of any size pass
// through it (gorilla reads large payloads past it); most y-websocket messages fit whole.
const readBufferSize = 512

// smallReader wraps the ResponseWriter handed to gorilla's Upgrade so that the WebSocket reads
// through a bufio.Reader of ours: with Upgrader.ReadBufferSize 0, gorilla reads through the
// reader that Hijack returns ("buffers allocated by the HTTP server are used"). This one is
// small (readBufferSize, not net/http's 4 KiB), and the reader loop can see how much it holds,
// which it needs to wait for input outside gorilla (conn.readLoop).
type smallReader struct {
	http.ResponseWriter
	br   *bufio.Reader // set by Hijack
	conn net.Conn      // set by Hijack
}

// Hijack hijacks the underlying connection and returns it with a fresh small reader. If the
// client sent data after its handshake request, net/http's reader is returned as it is and
// Upgrade refuses the connection.
func (s *smallReader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("docsync: the http.ResponseWriter does not implement http.Hijacker")
	}
	nc, brw, err := hj.Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return nc, brw, err
	}
	s.br = bufio.NewReaderSize(nc, readBufferSize)
	s.conn = nc
	return nc, bufio.NewReadWriter(s.br, brw.Writer), nil
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (s *smallReader) Unwrap() http.ResponseWriter { return s.ResponseWriter }
