package docsync

import (
	"time"
)

// bucket is a token bucket: rate tokens per second, holding at most 2 × rate. It may go into
// debt: a take larger than what is left succeeds and the debt is paid back by the refill, so a
// single message larger than the burst still passes (once).
type bucket struct {
	rate, tokens float64
	last         time.Time
}

func newBucket(rate float64, now time.Time) bucket {
	return bucket{rate: rate, tokens: 2 * rate, last: now}
}

// wait returns how long the caller must wait before taking n tokens at now (0: at once).
// With rate 0 it never waits.
func (b *bucket) wait(n float64, now time.Time) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	b.refill(now)
	// One token (a message) must be available; a byte count needs the bucket out of debt.
	need := min(n, 1.0)
	if b.tokens >= need {
		return 0
	}
	return time.Duration((need - b.tokens) / b.rate * float64(time.Second))
}

// take removes n tokens at now (possibly into debt).
func (b *bucket) take(n float64, now time.Time) {
	if b.rate <= 0 {
		return
	}
	b.refill(now)
	b.tokens -= n
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*b.rate, 2*b.rate)
		b.last = now
	}
}

// rateLimiter enforces Options.MaxMessageRate and Options.MaxByteRate for one connection.
type rateLimiter struct {
	msgs, bytes bucket
}

func newRateLimiter(msgRate, byteRate float64, now time.Time) *rateLimiter {
	return &rateLimiter{msgs: newBucket(msgRate, now), bytes: newBucket(byteRate, now)}
}

// delay returns how long the reader must pause before accepting a message at now.
func (l *rateLimiter) delay(now time.Time) time.Duration {
	return max(l.msgs.wait(1, now), l.bytes.wait(1, now))
}

// took records a message of n bytes accepted at now.
func (l *rateLimiter) took(n int, now time.Time) {
	l.msgs.take(1, now)
	l.bytes.take(float64(n), now)
}

// acquireConn counts a new WebSocket for doc against Options.MaxConnections and
// MaxConnectionsPerDoc; it returns false (counting nothing) when either is reached.
func (s *Server) acquireConn(doc string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxConnections > 0 && s.nconns >= s.opts.MaxConnections {
		return false
	}
	if s.opts.MaxConnectionsPerDoc > 0 && s.docConns[doc] >= s.opts.MaxConnectionsPerDoc {
		return false
	}
	s.nconns++
	s.docConns[doc]++
	return true
}

// releaseConn undoes acquireConn.
func (s *Server) releaseConn(doc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nconns--
	if s.docConns[doc]--; s.docConns[doc] <= 0 {
		delete(s.docConns, doc)
	}
}
