// Package storagenode runs a storage node as its own process — `warren
// storage-node` in the split deployment: the node on Pebble, its gRPC
// service, its entry in the registry, dead-letter routing to whichever
// node owns the target queue, and the policies of its queues.
package storagenode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/warrenmq/warren/api/alarm"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/storagegrpc"
	pb "github.com/warrenmq/warren/api/storagepb"
	"github.com/warrenmq/warren/services/cluster"
	"github.com/warrenmq/warren/services/deadletter"
	"github.com/warrenmq/warren/services/metrics"
	"github.com/warrenmq/warren/services/metrics/nodemetrics"
	"github.com/warrenmq/warren/services/policies"
	"github.com/warrenmq/warren/services/tiering"
	"github.com/warrenmq/warren/storage-node/node"
)

// heartbeat is how often the node refreshes its registry entry.
const heartbeat = 2 * time.Second

// stopGrace bounds a graceful gRPC stop before open streams are cut.
const stopGrace = 10 * time.Second

// Options configure `warren storage-node`.
type Options struct {
	DataDir  string
	GRPCAddr string
	NATSURL  string
	Name     string // registry name; empty means host:port of the gRPC listener
	// GatewayTimeout bounds how long a gateway's sessions outlive it when its
	// host vanishes without closing TCP (0: registry.DefaultGatewayTimeout).
	GatewayTimeout time.Duration
	// MemoryHighWatermark is the Go heap size, in bytes, past which the node
	// raises its memory alarm (0 disables); DiskFreeLimit the free disk
	// space below which it raises its disk alarm (0: node's default,
	// negative disables). Either blocks the publishers of every gateway.
	MemoryHighWatermark int64
	DiskFreeLimit       int64
	// Tier chooses where cold queue data goes (storage-node/TIERING.md);
	// the zero value is a folder store beside the data.
	Tier     tiering.Options
	HTTPAddr string // /metrics and /healthz; empty serves no HTTP
	Pprof    bool   // Go's profiler under /debug/pprof on HTTPAddr
	Log      *slog.Logger
	// Ready, when set, receives the node's registry entry once it serves.
	Ready func(registry.Entry)
}

// Run serves until ctx ends, then deregisters, stops gRPC and closes the node.
func Run(ctx context.Context, o Options) error {
	if _, err := registry.ForGatewayTimeout(o.GatewayTimeout); err != nil {
		return err
	}
	c, err := cluster.Connect(ctx, o.NATSURL, o.Log)
	if err != nil {
		return err
	}
	defer c.Close()
	ln, err := net.Listen("tcp", o.GRPCAddr)
	if err != nil {
		return fmt.Errorf("grpc listen %s: %w", o.GRPCAddr, err)
	}
	defer ln.Close()
	if o.Name == "" {
		o.Name = ln.Addr().String()
	}
	return serve(ctx, o, c, ln)
}

func serve(ctx context.Context, o Options, c *cluster.Conn, ln net.Listener) error {
	// The folder store's default sits beside the data dir, which is
	// Pebble's own: Pebble must not find foreign files in it.
	cold, err := o.Tier.Open(ctx, filepath.Clean(o.DataDir)+"-cold")
	if err != nil {
		return err
	}
	n, err := node.Open(o.DataDir, node.Options{
		MemoryHighWatermark: o.MemoryHighWatermark,
		DiskFreeLimit:       o.DiskFreeLimit,
		ObjectStore:         cold,
		Tier:                o.Tier.Config,
		Events:              &natsEvents{nc: c.NATS, log: o.Log},
		DeadLetterer:        &deadletter.Router{Mirror: c.Mirror, Node: c.Nodes.Node, KV: c.TopoKV, Log: o.Log},
		Logger:              o.Log,
	})
	if err != nil {
		return fmt.Errorf("open storage node: %w", err)
	}
	defer n.Close()
	c.Nodes.SetLocal(o.Name, n)
	pol := policies.New(c.Mirror, n, o.Log)
	go pol.Run(ctx)
	// Its dead letters route by its mirror, and its queues' policies are
	// applied from it: it confirms a revision once both hold it.
	tsync, err := cluster.NewTopologySyncHeld(c, pol.WaitFor, o.Log)
	if err != nil {
		return err
	}
	defer tsync.Close()
	srv := grpc.NewServer(serverOptions(o.GatewayTimeout)...)
	pb.RegisterStorageServer(srv, storagegrpc.NewServer(n))
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if o.HTTPAddr != "" {
		hs, err := serveHTTP(o, n, errc)
		if err != nil {
			srv.Stop()
			return err
		}
		defer hs.Close()
	}
	entry := registry.Entry{Kind: registry.StorageNode, Name: o.Name, Addr: ln.Addr().String()}
	alarms := newAlarmReporter(c.NATS, o.Name, n, o.Log)
	report := func(e *registry.Entry) { e.Bytes = n.DiskBytes(); alarms.heartbeat(e) }
	if err := registry.RegisterWith(ctx, c.Registry, entry, heartbeat, report, o.Log); err != nil {
		srv.Stop()
		return err
	}
	go n.WatchAlarms(ctx, func(st node.AlarmState) { alarms.change(alarm.State(st)) })
	o.Log.Info("storage node serving", "name", o.Name, "grpc", entry.Addr, "data", o.DataDir)
	if o.Ready != nil {
		o.Ready(entry)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("grpc serve: %w", err)
	}
	return stop(o, c.Registry, srv)
}

// serverOptions are the storage service's, with keepalive derived from the
// gateway timeout: a silent gateway's connection is pinged and, unanswered,
// closed, which ends its sessions and requeues their unacked messages.
func serverOptions(gatewayTimeout time.Duration) []grpc.ServerOption {
	l, _ := registry.ForGatewayTimeout(gatewayTimeout) // checked by Run
	return append(storagegrpc.ServerOptions(), storagegrpc.KeepaliveServerOptions(l.PeerIdle, l.PeerAck)...)
}

// stop deregisters first, so no new sessions arrive, then lets open calls
// finish for a while.
func stop(o Options, regKV jetstream.KeyValue, srv *grpc.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := registry.Deregister(ctx, regKV, registry.StorageNode, o.Name); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		o.Log.Warn("deregister", "err", err)
	}
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopGrace):
		srv.Stop()
	}
	return nil
}

// serveHTTP serves the node's metrics (and the profiler when asked).
func serveHTTP(o Options, n *node.Node, errc chan<- error) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(func() []metrics.Sample { return nodemetrics.Samples(n.Metrics()) }))
	if o.Pprof {
		cluster.HandlePprof(mux)
	}
	return cluster.ServeHTTP(o.HTTPAddr, mux, errc)
}
