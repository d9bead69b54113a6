// Package natsembed runs a NATS server with JetStream inside the process, for
// the embedded deployment shape and for tests.
package natsembed

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server is a running embedded NATS server.
type Server struct {
	ns *server.Server
}

// Options configure the embedded server. Listen empty means no TCP listener:
// only in-process connections reach it.
type Options struct {
	DataDir string // JetStream state lives in DataDir/nats
	Listen  string // host:port, or empty
}

// Start starts the server and waits until it is ready for connections.
func Start(o Options) (*Server, error) {
	opts := &server.Options{
		JetStream:  true,
		StoreDir:   filepath.Join(o.DataDir, "nats"),
		DontListen: o.Listen == "",
		NoSigs:     true,
		NoLog:      true,
		ServerName: "warren",
	}
	if o.Listen != "" {
		host, port, err := splitHostPort(o.Listen)
		if err != nil {
			return nil, err
		}
		if port == 0 {
			port = server.RANDOM_PORT // nats-server reads 0 as its default 4222
		}
		opts.Host, opts.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats server not ready after 10s")
	}
	return &Server{ns: ns}, nil
}

// Connect opens a client connection to the server, in-process.
func (s *Server) Connect() (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(s.ns), nats.MaxReconnects(-1))
}

// ClientURL is the URL TCP clients use, when the server listens.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits for it to finish.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

func splitHostPort(addr string) (string, int, error) {
	var port int
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: %w", addr, err)
	}
	if _, err := fmt.Sscanf(p, "%d", &port); err != nil {
		return "", 0, fmt.Errorf("nats listen port %q: %w", p, err)
	}
	return host, port, nil
}
