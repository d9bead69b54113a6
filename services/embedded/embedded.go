// Package embedded runs the whole of Warren in one process — embedded NATS
// with JetStream, the control plane, one storage node and one gateway — the
// `warren serve` shape.
package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/alarm"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/mgmtapi"
	"github.com/warrenmq/warren/control-plane/natsembed"
	"github.com/warrenmq/warren/control-plane/topo"
	"github.com/warrenmq/warren/gateway/auth"
	"github.com/warrenmq/warren/gateway/conn"
	"github.com/warrenmq/warren/gateway/server"
	"github.com/warrenmq/warren/services/cluster"
	"github.com/warrenmq/warren/services/deadletter"
	"github.com/warrenmq/warren/services/gatewayd"
	"github.com/warrenmq/warren/services/metrics"
	"github.com/warrenmq/warren/services/metrics/nodemetrics"
	"github.com/warrenmq/warren/services/policies"
	"github.com/warrenmq/warren/services/provisioning"
	"github.com/warrenmq/warren/services/tiering"
	"github.com/warrenmq/warren/storage-node/node"
)

// nodeName is the single storage node's name in the embedded shape.
const nodeName = "node-1"

// shutdownGrace bounds how long clients get to finish closing on SIGTERM.
const shutdownGrace = 10 * time.Second

// Options configure `warren serve`.
type Options struct {
	DataDir         string
	AMQPAddr        string
	HTTPAddr        string
	ConsumerTimeout time.Duration
	MaxMessageSize  int
	// MemoryHighWatermark is the Go heap size, in bytes, past which
	// publishers are blocked (0 disables); DiskFreeLimit the free disk space
	// below which they are (negative disables).
	MemoryHighWatermark int64
	DiskFreeLimit       int64
	// Tier chooses where cold queue data goes (storage-node/TIERING.md);
	// the zero value is a folder store beside the data.
	Tier tiering.Options
	// Pprof serves Go's profiler under /debug/pprof on the HTTP port.
	Pprof bool
	// AdminToken is the provisioning API's admin token; empty means the one
	// kept in DataDir (see services/provisioning).
	AdminToken string
	// AMQPEndpoint is the AMQP URL the provisioning API reports with each
	// instance; empty means one made from AMQPAddr.
	AMQPEndpoint string
	// AMQPSAddr, when set, serves AMQP over TLS there too, with the PEM
	// certificate and key in TLSCert and TLSKey. TLSDomain, when set, makes
	// a TLS connection to "<instance>.<TLSDomain>" log in to that instance.
	AMQPSAddr, TLSCert, TLSKey, TLSDomain string

	Version string
	Log     *slog.Logger
}

// broker is everything Run starts, for orderly shutdown.
type broker struct {
	o    Options
	ns   *natsembed.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue // the topology bucket
	node *node.Node
	// live is node once Open has returned; the node's own dead-letter worker
	// may resolve nodes before that, from another goroutine.
	live   atomic.Pointer[node.Node]
	topo   *topo.Service
	mirror *topokv.Mirror
	pol    *policies.Applier
	amqp   *server.Server
	mux    *http.ServeMux
}

// Run starts Warren and serves until ctx ends, then shuts down gracefully:
// stop accepting, close clients with 320 CONNECTION_FORCED, flush storage.
func Run(ctx context.Context, o Options) error {
	b := &broker{o: o}
	defer b.stop()
	if err := b.start(ctx); err != nil {
		return err
	}
	o.Log.Info("warren serving", "amqp", b.amqp.Addr().String(), "http", o.HTTPAddr, "data", o.DataDir)
	errc := make(chan error, 2)
	hs, err := cluster.ServeHTTP(o.HTTPAddr, b.mux, errc)
	if err != nil {
		return err
	}
	go func() { errc <- b.amqp.Serve() }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			return err
		}
	}
	o.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = b.amqp.Shutdown(sctx)
	_ = hs.Shutdown(sctx)
	return nil
}

func (b *broker) start(ctx context.Context) error {
	if err := os.MkdirAll(b.o.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	b.mux = http.NewServeMux()
	steps := []func(context.Context) error{b.startNATS, b.startStorage, b.startControlPlane, b.startGateway}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (b *broker) startNATS(ctx context.Context) error {
	ns, err := natsembed.Start(natsembed.Options{DataDir: b.o.DataDir})
	if err != nil {
		return err
	}
	b.ns = ns
	if b.nc, err = ns.Connect(); err != nil {
		return fmt.Errorf("connect to embedded nats: %w", err)
	}
	if b.js, err = jetstream.New(b.nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if b.kv, err = topokv.OpenBucket(ctx, b.js); err != nil {
		return err
	}
	b.mirror, err = topokv.Watch(context.WithoutCancel(ctx), b.kv, b.o.Log)
	if err != nil {
		return err
	}
	b.topo = topo.New(b.kv, b.mirror, nil, b.o.Log)
	return nil
}

func (b *broker) startStorage(ctx context.Context) error {
	cold, err := b.o.Tier.Open(ctx, filepath.Join(b.o.DataDir, "cold"))
	if err != nil {
		return err
	}
	n, err := node.Open(filepath.Join(b.o.DataDir, "storage"), node.Options{
		MemoryHighWatermark: b.o.MemoryHighWatermark,
		DiskFreeLimit:       b.o.DiskFreeLimit,
		ObjectStore:         cold,
		Tier:                b.o.Tier.Config,
		Events:              &queueEvents{b: b},
		DeadLetterer:        &deadletter.Router{Mirror: b.mirror, Node: b.nodeByName, KV: b.kv, Log: b.o.Log},
	})
	if err != nil {
		return fmt.Errorf("open storage node: %w", err)
	}
	b.node = n
	b.live.Store(n)
	b.topo.SetNodes(topo.StaticNodes{nodeName: n})
	b.pol = policies.New(b.mirror, n, b.o.Log)
	go b.pol.Run(ctx)
	return nil
}

func (b *broker) nodeByName(name string) (storage.Node, bool) {
	if n := b.live.Load(); name == nodeName && n != nil {
		return n, true
	}
	return nil, false
}

// startControlPlane serves the provisioning API, which seeds the default
// instance on first start, and forgets what a restart loses in RabbitMQ:
// transient exchanges and queues, exclusive queues.
func (b *broker) startControlPlane(ctx context.Context) error {
	err := provisioning.Mount(ctx, b.mux, provisioning.Config{
		AdminToken: b.o.AdminToken, DataDir: b.o.DataDir, Endpoint: b.amqpEndpoint(),
		JS: b.js, TopoKV: b.kv, Mirror: b.mirror, Topo: b.topo, Log: b.o.Log,
		NATS: b.nc, Gateways: func(context.Context) int { return 1 }, AMQPPort: portOf(b.o.AMQPAddr),
		Alarms: b.alarms,
	})
	if err != nil {
		return err
	}
	var names []string
	b.mirror.Instances(func(i topology.Instance) { names = append(names, i.Name) })
	for _, inst := range names {
		if err := b.topo.DropTransient(ctx, inst); err != nil {
			return err
		}
	}
	return nil
}

// alarms are the storage node's, for the management API.
func (b *broker) alarms(context.Context) ([]mgmtapi.Alarm, error) {
	n := b.live.Load()
	if n == nil {
		return nil, nil
	}
	memory, disk := n.Alarms()
	return provisioning.NodeAlarms(nodeName, memory, disk), nil
}

// amqpEndpoint is Options.AMQPEndpoint, or the AMQP address as a URL, with
// localhost for a listener on every interface.
func (b *broker) amqpEndpoint() string {
	if b.o.AMQPEndpoint != "" {
		return b.o.AMQPEndpoint
	}
	host, port, err := net.SplitHostPort(b.o.AMQPAddr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "amqp://" + net.JoinHostPort(host, port)
}

func (b *broker) startGateway(ctx context.Context) error {
	gate := conn.NewGate()
	// The gateway's publish gate is shut while the node has an alarm.
	go b.node.WatchAlarms(ctx, func(st node.AlarmState) { gate.Set(alarm.State(st).Reason()) })
	cfg := conn.Prepare(conn.Config{
		Gate:     gate,
		Auth:     auth.MirrorUsers(b.mirror, b.o.TLSDomain),
		Topology: b.topo, Mirror: b.mirror, Node: b.nodeByName, ClusterSync: b.awaitPolicies,
		ConsumerTimeout: b.o.ConsumerTimeout, MaxMessageSize: b.o.MaxMessageSize,
		Product: "Warren", Version: b.o.Version, Log: b.o.Log,
	})
	srv, err := server.Listen(b.o.AMQPAddr, "gw1", cfg)
	if err != nil {
		return err
	}
	b.amqp = srv
	if b.o.AMQPSAddr != "" {
		if err := srv.ListenTLS(b.o.AMQPSAddr, b.o.TLSCert, b.o.TLSKey); err != nil {
			return err
		}
	}
	admin := &gatewayd.ConnAdmin{ID: "gw1", Srv: srv, Log: b.o.Log}
	if _, err := admin.Serve(b.nc); err != nil {
		return err
	}
	go srv.EnforceAccess(ctx, b.mirror)
	go cfg.MeterStorage(ctx, conn.DefaultStorageMeter)
	b.mux.Handle("/metrics", metrics.Handler(b.metrics))
	if b.o.Pprof {
		cluster.HandlePprof(b.mux)
	}
	return nil
}

// policyBound caps how long a declare-ok waits for the policies to be
// applied: an applier that stopped (its mirror failed) delays the client
// by this much only.
const policyBound = time.Second

// awaitPolicies holds a declare-ok until the storage node runs its queues
// with the policies as of rev, as RabbitMQ applies a policy to a queue it
// declares: the split shape's storage nodes do the same through their
// topology sync.
func (b *broker) awaitPolicies(ctx context.Context, rev uint64) {
	ctx, cancel := context.WithTimeout(ctx, policyBound)
	defer cancel()
	_ = b.pol.WaitFor(ctx, rev)
}

// portOf is the port of a listen address, 0 when it has none.
func portOf(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

// metrics gathers the values /metrics reports.
func (b *broker) metrics() []metrics.Sample {
	m := b.node.Metrics()
	return append([]metrics.Sample{metrics.Connections(b.amqp.Connections())}, nodemetrics.Samples(m)...)
}

// stop releases what start opened, storage last but before NATS.
func (b *broker) stop() {
	if b.node != nil {
		if err := b.node.Close(); err != nil {
			b.o.Log.Error("closing storage", "err", err)
		}
	}
	if b.nc != nil {
		b.nc.Close()
	}
	if b.ns != nil {
		b.ns.Shutdown()
	}
}
