package storagegrpc

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestKeepaliveEndsSilentPeer: a client that goes silent without closing
// TCP (its host vanished) has its connection, and so its streams, closed by
// the server within idle + ack.
func TestKeepaliveEndsSilentPeer(t *testing.T) {
	const idle, ack = time.Second, time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := &closeWatcher{Listener: ln, closed: make(chan struct{}, 8)}
	srv := grpc.NewServer(KeepaliveServerOptions(idle, ack)...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(tl) }()
	defer srv.Stop()
	proxy := startFreezer(t, ln.Addr().String())

	cc, err := grpc.NewClient(proxy, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	frozen.Store(true) // from here the client answers nothing
	defer frozen.Store(false)
	start := time.Now()
	select {
	case <-tl.closed:
	case <-time.After(idle + ack + 3*time.Second):
		t.Fatalf("the server kept a silent client's connection for %v", time.Since(start))
	}
	if took, bound := time.Since(start), idle+ack+500*time.Millisecond; took > bound {
		t.Fatalf("the server closed a silent client's connection after %v, want at most %v", took, bound)
	}
}

// TestKeepaliveCompatible: the server admits the pings storage clients send;
// otherwise it would answer them with GOAWAY too_many_pings.
func TestKeepaliveCompatible(t *testing.T) {
	if minClientPing > clientPingIdle {
		t.Fatalf("server refuses pings more often than %v, clients ping every %v", minClientPing, clientPingIdle)
	}
	if len(KeepaliveDialOptions()) == 0 || len(KeepaliveServerOptions(time.Second, time.Second)) != 2 {
		t.Fatal("keepalive options missing")
	}
}

// closeWatcher signals each accepted connection the server closes.
type closeWatcher struct {
	net.Listener
	closed chan struct{}
}

func (l *closeWatcher) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: c, closed: l.closed}, nil
}

type watchedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *watchedConn) Close() error {
	c.once.Do(func() { c.closed <- struct{}{} })
	return c.Conn.Close()
}

// frozen makes startFreezer's proxies swallow everything: the peer behind
// them looks like a host that vanished, with TCP still open.
var frozen atomic.Bool

// startFreezer proxies a local port to upstream until the test ends.
func startFreezer(t *testing.T, upstream string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	})
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				down.Close()
				return
			}
			mu.Lock()
			open = append(open, down, up)
			mu.Unlock()
			go pipeUnlessFrozen(up, down)
			go pipeUnlessFrozen(down, up)
		}
	}()
	return ln.Addr().String()
}

// pipeUnlessFrozen copies src to dst, dropping what it reads once frozen.
func pipeUnlessFrozen(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if frozen.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}
