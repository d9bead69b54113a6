package server

import "github.com/warrenmq/warren/gateway/conn"

// Each calls fn for every open connection, under the server's lock: fn
// must not block (conn.Info and starting a Close in a goroutine do not).
func (s *Server) Each(fn func(c *conn.Conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		fn(c)
	}
}
