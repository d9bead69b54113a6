// Package deadletter routes dead-lettered messages through the topology and
// appends them to their target queues' storage nodes: the storage.DeadLetterer
// a storage node is given.
package deadletter

import (
	"context"
	"fmt"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// Router implements storage.DeadLetterer for one instance.
type Router struct {
	Instance string
	Mirror   *topokv.Mirror
	Node     func(name string) (storage.Node, bool)
}

var _ storage.DeadLetterer = (*Router)(nil)

// DeadLetter routes each dead letter by its exchange and keys and appends it
// to every queue reached. A dead letter that reaches no queue is dropped, as
// RabbitMQ drops messages to a missing dead-letter exchange.
func (r *Router) DeadLetter(ctx context.Context, batch []storage.DeadLetter) error {
	byNode := map[string][]storage.Publish{}
	for _, dl := range batch {
		for node, ids := range r.targets(dl) {
			byNode[node] = append(byNode[node], storage.Publish{Queues: ids, Msg: dl.Msg})
		}
	}
	for name, pubs := range byNode {
		n, ok := r.Node(name)
		if !ok {
			return fmt.Errorf("dead-letter: storage node %q unavailable", name)
		}
		outcomes, err := n.Append(ctx, pubs)
		if err != nil {
			return fmt.Errorf("dead-letter append on %s: %w", name, err)
		}
		for _, o := range outcomes {
			if o.Err != nil {
				return fmt.Errorf("dead-letter append on %s: %w", name, o.Err)
			}
		}
	}
	return nil
}

// targets groups the queues a dead letter reaches by owning node, leaving
// out queues that would close an automatic dead-letter cycle.
func (r *Router) targets(dl storage.DeadLetter) map[string][]storage.QueueID {
	var headers amqp.Table
	if p, err := amqp.DecodeProperties(dl.Msg.Properties); err == nil {
		headers = p.Headers
	}
	deaths, reason := deathsOf(headers)
	out := map[string][]storage.QueueID{}
	r.Mirror.Read(r.Instance, func(ix *route.Index) {
		var buf []*topology.Queue
		for _, key := range dl.RoutingKeys {
			buf = ix.Route(dl.VHost, dl.Exchange, key, headers, buf)
			for _, q := range buf {
				if reason != "rejected" && isCycle(q.Name, deaths) {
					continue
				}
				if !contains(out[q.Node], q.ID) {
					out[q.Node] = append(out[q.Node], q.ID)
				}
			}
		}
	})
	return out
}

func contains(ids []storage.QueueID, id storage.QueueID) bool {
	for _, have := range ids {
		if have == id {
			return true
		}
	}
	return false
}
