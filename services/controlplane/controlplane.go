// Package controlplane runs the control plane as its own process — `warren
// control-plane` in the split deployment: NATS (embedded, listening for the
// other services, or an external cluster), the topology service over gRPC,
// the provisioning API over HTTP, placement over the storage nodes in the
// registry, and the deletion of queues that storage nodes report unused.
package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/warrenmq/warren/api/connquota"
	"github.com/warrenmq/warren/api/controlgrpc"
	"github.com/warrenmq/warren/api/controlpb"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/control-plane/natsembed"
	"github.com/warrenmq/warren/control-plane/topo"
	"github.com/warrenmq/warren/services/cluster"
	"github.com/warrenmq/warren/services/provisioning"
)

// heartbeat is how often the control plane refreshes its registry entry.
const heartbeat = 2 * time.Second

// Options configure `warren control-plane`.
type Options struct {
	DataDir  string
	HTTPAddr string
	GRPCAddr string
	NATSAddr string // embedded NATS listens here when NATSURL is empty
	NATSURL  string // an external NATS cluster instead of the embedded one
	Log      *slog.Logger
	// GatewayTimeout bounds how long the exclusive queues of a gateway that
	// died without closing outlive it (0: registry.DefaultGatewayTimeout).
	GatewayTimeout time.Duration
	// Ready, when set, is called once the control plane serves, with the
	// NATS URL the other services should use and its gRPC address.
	Ready func(natsURL, grpcAddr string)
	// AdminToken is the provisioning API's admin token; empty means the one
	// kept in DataDir (see services/provisioning).
	AdminToken string
	// AMQPEndpoint is the AMQP URL the provisioning API reports with each
	// instance: where clients reach the gateways.
	AMQPEndpoint string
}

// Run serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	live, err := registry.ForGatewayTimeout(o.GatewayTimeout)
	if err != nil {
		return err
	}
	url := o.NATSURL
	if url == "" {
		ns, err := natsembed.Start(natsembed.Options{DataDir: o.DataDir, Listen: o.NATSAddr})
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		url = ns.ClientURL()
	}
	c, err := cluster.Connect(ctx, url, o.Log)
	if err != nil {
		return err
	}
	defer c.Close()
	svc := topo.New(c.TopoKV, c.Mirror, c.Nodes, o.Log)
	mux := http.NewServeMux()
	err = provisioning.Mount(ctx, mux, provisioning.Config{
		AdminToken: o.AdminToken, DataDir: o.DataDir, Endpoint: o.AMQPEndpoint,
		JS: c.JS, TopoKV: c.TopoKV, Mirror: c.Mirror, Topo: svc, Log: o.Log,
		NATS: c.NATS, Gateways: liveGateways(c.Registry), AMQPPort: endpointPort(o.AMQPEndpoint),
		Alarms: provisioning.RegistryAlarms(c.Registry),
	})
	if err != nil {
		return err
	}
	sub, err := c.NATS.Subscribe(storage.QueueUnusedSubject, unusedHandler(svc, c.Mirror, o.Log))
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", storage.QueueUnusedSubject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	seatsKV, err := connquota.OpenBucket(ctx, c.JS)
	if err != nil {
		return err
	}
	go sweepDeadGateways(ctx, svc, c.Mirror, c.Registry, seatsKV, live, o.Log)
	return serveAPIs(ctx, o, url, svc, c.Registry, mux)
}

// unusedHandler deletes queues storage nodes report unused, in whichever
// instance holds them.
func unusedHandler(svc *topo.Service, mirror *topokv.Mirror, log *slog.Logger) nats.MsgHandler {
	return func(m *nats.Msg) {
		var ev storage.QueueUnusedEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			log.Warn("bad queue-unused event", "err", err)
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			inst, ok := mirror.QueueInstance(ev.Queue)
			if !ok {
				return // deleted meanwhile
			}
			if err := svc.DeleteUnusedQueue(ctx, inst, ev.Queue); err != nil {
				log.Warn("deleting unused queue", "queue", ev.Queue, "reason", ev.Reason, "err", err)
			}
		}()
	}
}

// serveAPIs runs the gRPC topology service and the HTTP endpoints on mux,
// and registers the control plane, until ctx ends.
func serveAPIs(ctx context.Context, o Options, url string, svc *topo.Service, regKV jetstream.KeyValue, mux *http.ServeMux) error {
	ln, err := net.Listen("tcp", o.GRPCAddr)
	if err != nil {
		return fmt.Errorf("grpc listen %s: %w", o.GRPCAddr, err)
	}
	srv := grpc.NewServer()
	controlpb.RegisterTopologyServer(srv, controlgrpc.NewServer(svc))
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	defer srv.Stop()
	hs, err := cluster.ServeHTTP(o.HTTPAddr, mux, errc)
	if err != nil {
		return err
	}
	defer hs.Close()
	entry := registry.Entry{Kind: registry.ControlPlane, Name: ln.Addr().String(), Addr: ln.Addr().String()}
	if err := registry.Register(ctx, regKV, entry, heartbeat, o.Log); err != nil {
		return err
	}
	o.Log.Info("control plane serving", "grpc", entry.Addr, "http", o.HTTPAddr, "nats", url)
	if o.Ready != nil {
		o.Ready(url, entry.Addr)
	}
	select {
	case <-ctx.Done():
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = registry.Deregister(dctx, regKV, registry.ControlPlane, entry.Name)
		return nil
	case err := <-errc:
		return err
	}
}

// liveGateways counts the gateways alive in the registry: the management
// API waits for that many answers about connections. When the registry
// cannot be read, it waits for as many as answer before its deadline.
func liveGateways(regKV jetstream.KeyValue) func(ctx context.Context) int {
	return func(ctx context.Context) int {
		alive, err := registry.List(ctx, regKV, registry.Gateway)
		if err != nil {
			return math.MaxInt
		}
		return len(alive)
	}
}

// endpointPort is the port of the AMQP endpoint URL, else AMQP's 5672.
func endpointPort(endpoint string) int {
	if u, err := url.Parse(endpoint); err == nil {
		if p, err := strconv.Atoi(u.Port()); err == nil {
			return p
		}
	}
	return 5672
}
