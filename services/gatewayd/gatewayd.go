// Package gatewayd runs an AMQP gateway as its own process — `warren
// gateway` in the split deployment. It holds no state: it mirrors the
// topology from NATS KV, finds the control plane and the storage nodes in
// the registry, and can be added, removed or killed freely.
package gatewayd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/connquota"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/gateway/auth"
	"github.com/warrenmq/warren/gateway/conn"
	"github.com/warrenmq/warren/gateway/server"
	"github.com/warrenmq/warren/services/cluster"
	"github.com/warrenmq/warren/services/metrics"
)

// shutdownGrace bounds how long clients get to finish closing on SIGTERM.
const shutdownGrace = 10 * time.Second

// Options configure `warren gateway`.
type Options struct {
	AMQPAddr        string
	HTTPAddr        string
	NATSURL         string
	ConsumerTimeout time.Duration
	// GatewayTimeout sets the registry heartbeat so that the control plane
	// counts this gateway dead within it once it stops (0:
	// registry.DefaultGatewayTimeout).
	GatewayTimeout time.Duration
	Pprof          bool // Go's profiler under /debug/pprof on HTTPAddr
	// AMQPSAddr, when set, serves AMQP over TLS there too, with the PEM
	// certificate and key in TLSCert and TLSKey. TLSDomain, when set, makes
	// a TLS connection to "<instance>.<TLSDomain>" log in to that instance.
	AMQPSAddr, TLSCert, TLSKey, TLSDomain string

	Version string
	Log     *slog.Logger
	// Ready, when set, receives the AMQP address once the gateway accepts.
	Ready func(amqpAddr string)
}

// Run serves until ctx ends, then closes clients with 320 CONNECTION_FORCED.
func Run(ctx context.Context, o Options) error {
	live, err := registry.ForGatewayTimeout(o.GatewayTimeout)
	if err != nil {
		return err
	}
	c, err := cluster.Connect(ctx, o.NATSURL, o.Log)
	if err != nil {
		return err
	}
	defer c.Close()
	control := newControlResolver(c.Registry)
	defer control.close()
	id := gatewayID()
	tsync, err := cluster.NewTopologySync(c, o.Log)
	if err != nil {
		return err
	}
	defer tsync.Close()
	alarmCtx, endAlarms := context.WithCancel(ctx)
	defer endAlarms()
	gate := conn.NewGate()
	if err := watchAlarms(alarmCtx, c.NATS, c.Nodes, gate, o.Log); err != nil {
		return err
	}
	seats, err := countSeats(ctx, c, id)
	if err != nil {
		return err
	}
	cfg := conn.Prepare(conn.Config{
		Gate: gate, Seats: seats,
		Auth:     auth.MirrorUsers(c.Mirror, o.TLSDomain),
		Topology: control, Mirror: c.Mirror, Node: c.Nodes.Node, RemoteStorage: true, ClusterSync: tsync.Await,
		ConsumerTimeout: o.ConsumerTimeout, Product: "Warren", Version: o.Version, Log: o.Log,
		ReplyRelay: &replyRelay{nc: c.NATS, id: id, log: o.Log},
	})
	replies, err := serveReplies(c.NATS, id, cfg, o.Log)
	if err != nil {
		return err
	}
	defer func() { _ = replies.Unsubscribe() }()
	srv, err := server.Listen(o.AMQPAddr, id, cfg)
	if err != nil {
		return err
	}
	if o.AMQPSAddr != "" {
		if err := srv.ListenTLS(o.AMQPSAddr, o.TLSCert, o.TLSKey); err != nil {
			return err
		}
	}
	admin := &ConnAdmin{ID: id, Srv: srv, Log: o.Log}
	subs, err := admin.Serve(c.NATS)
	if err != nil {
		return err
	}
	defer unsubscribe(subs)
	go srv.EnforceAccess(ctx, c.Mirror)
	go cfg.MeterStorage(ctx, conn.DefaultStorageMeter)
	return serve(ctx, o, id, srv, c.Registry, live.Heartbeat)
}

func serve(ctx context.Context, o Options, id string, srv *server.Server, regKV jetstream.KeyValue, heartbeat time.Duration) error {
	// Registered before accepting: the control plane removes the exclusive
	// queues of connections whose gateway is not registered.
	entry := registry.Entry{Kind: registry.Gateway, Name: id, Addr: srv.Addr().String()}
	if err := registry.Register(ctx, regKV, entry, heartbeat, o.Log); err != nil {
		return err
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve() }()
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(func() []metrics.Sample {
		return []metrics.Sample{metrics.Connections(srv.Connections())}
	}))
	if o.Pprof {
		cluster.HandlePprof(mux)
	}
	hs, err := cluster.ServeHTTP(o.HTTPAddr, mux, errc)
	if err != nil {
		return err
	}
	defer hs.Close()
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

// countSeats counts this gateway's connections in the cluster-wide record
// that max_connections is checked against, and keeps its entries synced
// until ctx ends. The gateway's id is new with each process, so a
// restarted gateway starts with no entries; the control plane removes the
// old process's.
func countSeats(ctx context.Context, c *cluster.Conn, id string) (*connquota.Counter, error) {
	kv, err := connquota.OpenBucket(ctx, c.JS)
	if err != nil {
		return nil, err
	}
	seats := connquota.NewCounter(kv, id)
	go seats.Run(ctx)
	return seats, nil
}

// gatewayID names this gateway process: the prefix of its connection ids,
// which must be unique across the deployment (exclusive queue owners).
func gatewayID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "gw-" + hex.EncodeToString(b[:])
}
