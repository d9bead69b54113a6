package gatewayd

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/controlgrpc"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/topology"
)

// errNoControlPlane is what a declare gets while no control plane is up:
// RabbitMQ's internal-error class, a clear text, and it works again once
// one registers.
var errNoControlPlane = reply.Errorf(reply.InternalError, "control plane unavailable; topology changes fail until it is back")

// lookupTimeout bounds the registry read that finds the control plane: with
// NATS away, a declare must fail quickly rather than hold its client.
const lookupTimeout = 2 * time.Second

// callTimeout bounds a topology call to the control plane.
const callTimeout = 10 * time.Second

// controlResolver is a control.Topology that calls whichever control plane
// the registry lists, keeping one gRPC connection per address. When the
// registry cannot be read it tries the last address it knew.
type controlResolver struct {
	kv jetstream.KeyValue
	mu struct {
		sync.Mutex
		addr   string
		cc     *grpc.ClientConn
		client *controlgrpc.Client
	}
}

var _ control.Topology = (*controlResolver)(nil)

func newControlResolver(kv jetstream.KeyValue) *controlResolver { return &controlResolver{kv: kv} }

// current returns a client for the control plane alive now.
func (r *controlResolver) current(ctx context.Context) (*controlgrpc.Client, error) {
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	entries, err := registry.List(lctx, r.kv, registry.ControlPlane)
	cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && r.mu.client != nil {
		return r.mu.client, nil // registry unreadable: the last known control plane may still answer
	}
	if err != nil || len(entries) == 0 {
		return nil, errNoControlPlane
	}
	addr := entries[0].Addr
	if r.mu.client != nil && r.mu.addr == addr {
		return r.mu.client, nil
	}
	if r.mu.cc != nil {
		_ = r.mu.cc.Close()
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, errors.Join(errNoControlPlane, err)
	}
	r.mu.addr, r.mu.cc, r.mu.client = addr, cc, controlgrpc.NewClient(cc)
	return r.mu.client, nil
}

// call runs fn against the current control plane with a bounded context;
// a transport failure (not a refusal, which is a *reply.Error) reads as the
// control plane being unavailable.
func call[T any](ctx context.Context, r *controlResolver, fn func(context.Context, *controlgrpc.Client) (T, error)) (T, error) {
	var zero T
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c, err := r.current(ctx)
	if err != nil {
		return zero, err
	}
	res, err := fn(ctx, c)
	var re *reply.Error
	if err != nil && !errors.As(err, &re) {
		return zero, errors.Join(errNoControlPlane, err)
	}
	return res, err
}

func (r *controlResolver) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.cc != nil {
		_ = r.mu.cc.Close()
	}
}

func (r *controlResolver) DeclareExchange(ctx context.Context, inst string, x topology.Exchange) (control.Result, error) {
	return call(ctx, r, func(ctx context.Context, c *controlgrpc.Client) (control.Result, error) {
		return c.DeclareExchange(ctx, inst, x)
	})
}

func (r *controlResolver) DeleteExchange(ctx context.Context, inst, vhost, name string, ifUnused bool) (control.Result, error) {
	return call(ctx, r, func(ctx context.Context, c *controlgrpc.Client) (control.Result, error) {
		return c.DeleteExchange(ctx, inst, vhost, name, ifUnused)
	})
}

func (r *controlResolver) DeclareQueue(ctx context.Context, inst, conn string, q topology.Queue) (control.QueueResult, error) {
	return call(ctx, r, func(ctx context.Context, c *controlgrpc.Client) (control.QueueResult, error) {
		return c.DeclareQueue(ctx, inst, conn, q)
	})
}

func (r *controlResolver) DeleteQueue(ctx context.Context, inst, conn, vhost, name string, ifUnused, ifEmpty bool) (control.QueueResult, error) {
	return call(ctx, r, func(ctx context.Context, c *controlgrpc.Client) (control.QueueResult, error) {
		return c.DeleteQueue(ctx, inst, conn, vhost, name, ifUnused, ifEmpty)
	})
}

func (r *controlResolver) Bind(ctx context.Context, inst string, b topology.Binding) (control.Result, error) {
	return call(ctx, r, func(ctx context.Context, c *controlgrpc.Client) (control.Result, error) {
		return c.Bind(ctx, inst, b)
	})
}

func (r *controlResolver) Unbind(ctx context.Context, inst string, b topology.Binding) (control.Result, error) {
	return call(ctx, r, func(ctx context.Context, c *controlgrpc.Client) (control.Result, error) {
		return c.Unbind(ctx, inst, b)
	})
}

func (r *controlResolver) ConnectionClosed(ctx context.Context, inst, conn string) error {
	_, err := call(ctx, r, func(ctx context.Context, c *controlgrpc.Client) (struct{}, error) {
		return struct{}{}, c.ConnectionClosed(ctx, inst, conn)
	})
	return err
}
