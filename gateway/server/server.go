// Package server accepts AMQP connections for a gateway and closes them all
// with 320 CONNECTION_FORCED on shutdown.
package server

import (
	"context"
	"crypto/tls"
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
	ln     net.Listener // plain AMQP
	tlsLn  net.Listener // AMQPS; nil when not asked for
	id     string       // gateway id, the prefix of connection ids
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

// ListenTLS adds an AMQPS listener on addr with the certificate and key in
// PEM files; Serve accepts on it too. The TLS handshake runs within the
// AMQP handshake's timeout, and the SNI host the client asked for can
// choose its instance (auth.Users.SetDomain).
func (s *Server) ListenTLS(addr, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("amqps certificate: %w", err)
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return fmt.Errorf("amqps listen %s: %w", addr, err)
	}
	s.tlsLn = ln
	return nil
}

// TLSAddr is the bound AMQPS address, nil without one.
func (s *Server) TLSAddr() net.Addr {
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// Serve accepts connections on every listener until they close.
func (s *Server) Serve() error {
	if s.tlsLn == nil {
		return s.accept(s.ln)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.accept(s.ln) }()
	go func() { errc <- s.accept(s.tlsLn) }()
	err := <-errc
	_, _ = s.ln.Close(), s.tlsLn.Close() // one listener ending ends both, as a shutdown does
	return errors.Join(err, <-errc)
}

// accept serves the connections ln accepts until it closes.
func (s *Server) accept(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
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
	if s.tlsLn != nil {
		_ = s.tlsLn.Close()
	}
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
