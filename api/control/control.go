// Package control is the contract between gateways and the control plane for
// topology changes. Every change returns the KV revision that holds it; the
// gateway waits until its topology mirror has applied that revision before
// answering the client (read-your-writes). Refusals are *reply.Error.
package control

import (
	"context"

	"github.com/warrenmq/warren/api/topology"
)

// Result is the outcome of a topology change.
type Result struct {
	Revision uint64
}

// QueueResult is the outcome of a queue declare or delete: the queue as it is
// now, and its counts for declare-ok / delete-ok.
type QueueResult struct {
	Queue     topology.Queue
	Revision  uint64
	Messages  uint64
	Consumers uint32
}

// Topology changes the topology of one instance. conn identifies the client
// connection asking, for exclusive-queue ownership.
type Topology interface {
	DeclareExchange(ctx context.Context, inst string, x topology.Exchange) (Result, error)
	DeleteExchange(ctx context.Context, inst, vhost, name string, ifUnused bool) (Result, error)
	DeclareQueue(ctx context.Context, inst, conn string, q topology.Queue) (QueueResult, error)
	DeleteQueue(ctx context.Context, inst, conn, vhost, name string, ifUnused, ifEmpty bool) (QueueResult, error)
	Bind(ctx context.Context, inst string, b topology.Binding) (Result, error)
	Unbind(ctx context.Context, inst string, b topology.Binding) (Result, error)
	// ConnectionClosed deletes the exclusive queues the connection owned.
	ConnectionClosed(ctx context.Context, inst, conn string) error
}
