// Package gatewayd runs an AMQP gateway as its own process — `warren
// gateway` in the split deployment. It holds no state: it mirrors the
// topology from NATS KV, finds the control plane and the storage nodes in
// the registry, and can be added, removed or killed freely.
package gatewayd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/auth"
	"github.com/warrenmq/warren/gateway/conn"
	"github.com/warrenmq/warren/gateway/server"
)

// heartbeat is how often the gateway refreshes its registry entry.
const heartbeat = 2 * time.Second

// shutdownGrace bounds how long clients get to finish closing on SIGTERM.
const shutdownGrace = 10 * time.Second

// Options configure `warren gateway`.
type Options struct {
	AMQPAddr        string
	HTTPAddr        string
	NATSURL         string
	ConsumerTimeout time.Duration
	Version         string
	Log             *slog.Logger
	// Ready, when set, receives the AMQP address once the gateway accepts.
	Ready func(amqpAddr string)
}

// Run serves until ctx ends, then closes clients with 320 CONNECTION_FORCED.
func Run(ctx context.Context, o Options) error {
	nc, err := nats.Connect(o.NATSURL, nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", o.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	topoKV, err := topokv.OpenBucket(ctx, js)
	if err != nil {
		return err
	}
	mirror, err := topokv.Watch(ctx, topoKV, o.Log)
	if err != nil {
		return err
	}
	regKV, err := registry.OpenBucket(ctx, js)
	if err != nil {
		return err
	}
	nodes := registry.NewNodes(regKV)
	defer nodes.Close()
	control := newControlResolver(regKV)
	defer control.close()
	id := gatewayID()
	cfg := conn.Prepare(conn.Config{
		Instance: topology.DefaultInstance, Auth: auth.Guest(),
		Topology: control, Mirror: mirror, Node: nodes.Node,
		ConsumerTimeout: o.ConsumerTimeout, Product: "Warren", Version: o.Version, Log: o.Log,
	})
	srv, err := server.Listen(o.AMQPAddr, id, cfg)
	if err != nil {
		return err
	}
	return serve(ctx, o, id, srv, regKV)
}

func serve(ctx context.Context, o Options, id string, srv *server.Server, regKV jetstream.KeyValue) error {
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve() }()
	hs, err := startHTTP(o.HTTPAddr, srv, errc)
	if err != nil {
		return err
	}
	defer hs.Close()
	entry := registry.Entry{Kind: registry.Gateway, Name: id, Addr: srv.Addr().String()}
	if err := registry.Register(ctx, regKV, entry, heartbeat, o.Log); err != nil {
		return err
	}
	o.Log.Info("gateway serving", "id", id, "amqp", entry.Addr, "nats", o.NATSURL)
	if o.Ready != nil {
		o.Ready(entry.Addr)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = registry.Deregister(sctx, regKV, registry.Gateway, id)
	return nil
}

func startHTTP(addr string, srv *server.Server, errc chan<- error) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintf(w, "# HELP warren_connections Open AMQP connections.\n# TYPE warren_connections gauge\nwarren_connections %d\n", srv.Connections())
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return hs, nil
}

// gatewayID names this gateway process: the prefix of its connection ids,
// which must be unique across the deployment (exclusive queue owners).
func gatewayID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "gw-" + hex.EncodeToString(b[:])
}
