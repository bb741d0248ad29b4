package docsync

// DisableIdlePoller makes s's quiet readers wait on goroutines (the macOS and BSD way), so
// that tests on Linux cover that path too. Call it before the first connection.
func DisableIdlePoller(s *Server) {
	s.pollMu.Lock()
	s.pollerTried = true
	s.pollMu.Unlock()
}
