// Package server accepts AMQP connections for a gateway and closes them all
// with 320 CONNECTION_FORCED on shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/gateway/conn"
)

// Server is one gateway's AMQP listener and its live connections.
type Server struct {
	cfg    *conn.Config
	ln     net.Listener
	id     string // gateway id, the prefix of connection ids
	nextID atomic.Uint64
	log    *slog.Logger

	mu    sync.Mutex
	conns map[*conn.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen binds addr; Serve starts accepting.
func Listen(addr, gatewayID string, cfg *conn.Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("amqp listen %s: %w", addr, err)
	}
	return &Server{cfg: cfg, ln: ln, id: gatewayID, log: cfg.Log, conns: map[*conn.Conn]struct{}{}}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until the listener closes.
func (s *Server) Serve() error {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("amqp accept: %w", err)
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		c := conn.New(s.cfg, nc, fmt.Sprintf("%s-%d", s.id, s.nextID.Add(1)))
		s.track(c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			c.Serve()
		}()
	}
}

func (s *Server) track(c *conn.Conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) untrack(c *conn.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Connections is the number of open connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops accepting, closes every connection with 320
// CONNECTION_FORCED, and waits for them to end or ctx to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close(reply.ConnectionForced, "broker forced connection closure with reason 'shutdown'")
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
