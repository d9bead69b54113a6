// Package cluster is what every process of the split deployment opens
// first: its NATS connection, the topology bucket with a watching mirror,
// and the registry with a resolver for storage nodes. It also serves the
// small HTTP endpoint each of them has.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/topokv"
)

// Conn is a process's view of the cluster.
type Conn struct {
	NATS     *nats.Conn
	JS       jetstream.JetStream
	TopoKV   jetstream.KeyValue
	Mirror   *topokv.Mirror
	Registry jetstream.KeyValue
	Nodes    *registry.Nodes
}

// Connect opens everything; the mirror follows the topology until ctx ends.
// On error nothing is left open.
func Connect(ctx context.Context, url string, log *slog.Logger) (*Conn, error) {
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	c, err := open(ctx, nc, log)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func open(ctx context.Context, nc *nats.Conn, log *slog.Logger) (*Conn, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	c := &Conn{NATS: nc, JS: js}
	if c.TopoKV, err = topokv.OpenBucket(ctx, js); err != nil {
		return nil, err
	}
	if c.Mirror, err = topokv.Watch(ctx, c.TopoKV, log); err != nil {
		return nil, err
	}
	nc.SetReconnectHandler(func(*nats.Conn) { c.Mirror.Resume() })
	if c.Registry, err = registry.OpenBucket(ctx, js); err != nil {
		return nil, err
	}
	c.Nodes = registry.NewNodes(c.Registry)
	return c, nil
}

// Close closes the node clients and the NATS connection.
func (c *Conn) Close() {
	c.Nodes.Close()
	c.NATS.Close()
}

// ServeHTTP serves mux on addr until the returned server is closed; a serve
// failure goes to errc. /healthz is added to mux.
func ServeHTTP(addr string, mux *http.ServeMux, errc chan<- error) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", addr, err)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return hs, nil
}

// HandlePprof serves Go's profiler and execution tracer under /debug/pprof
// on mux.
func HandlePprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
