package node

import (
	"context"

	"github.com/warrenmq/warren/api/storage"
)

// AppendQueueSpecs appends the declared spec of every queue of the node,
// in no order: what a policy applier works its effective specs out from.
func (n *Node) AppendQueueSpecs(dst []storage.QueueSpec) []storage.QueueSpec {
	n.reg.mu.RLock()
	defer n.reg.mu.RUnlock()
	for _, s := range n.reg.live {
		dst = append(dst, *s)
	}
	return dst
}

// QueuesGeneration changes whenever a queue is created on the node or
// removed from it, so an applier can tell that AppendQueueSpecs would give
// what it gave last time.
func (n *Node) QueuesGeneration() uint64 {
	n.reg.mu.RLock()
	defer n.reg.mu.RUnlock()
	return n.reg.gen
}

// SetEffective makes a queue run with the limits and dead-letter target of
// spec, its declared spec with a policy applied (queue.SetEffective says
// what changes at once: drops over a new length limit, expiry under a new
// TTL). Only spec.ID and those fields are read. The effective spec is not
// persisted: after a restart the queue runs as declared until its applier
// sets it again. A missing queue is a 404.
func (n *Node) SetEffective(ctx context.Context, spec storage.QueueSpec) error {
	_, err := n.call(ctx, n.shardOf(spec.ID), cmd{kind: cmdSetEffective, q: spec.ID, spec: &spec})
	return err
}
