package topo

import (
	"context"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// SetNodes sets the storage nodes queues can be placed on.
func (s *Service) SetNodes(nodes NodeSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes = nodes
}

// DropTransient removes what a RabbitMQ node forgets on restart: non-durable
// and exclusive queues, non-durable exchanges, and their bindings. It is run
// by the embedded shape at start, before any client connects.
func (s *Service) DropTransient(ctx context.Context, inst string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	var queues []topology.Queue
	s.read(inst, func(ix *route.Index) {
		ix.Queues(func(q *topology.Queue) {
			if !q.Durable || q.Exclusive {
				queues = append(queues, *q)
				keys = append(keys, bindingKeys(inst, q.VHost, ix.BindingsTo(q.VHost, topology.ToQueue, q.Name))...)
				keys = append(keys, topokv.QueueKey(inst, q.VHost, q.Name))
			}
		})
		ix.Exchanges(func(x topology.Exchange) {
			if !x.Durable {
				keys = append(keys, bindingKeys(inst, x.VHost,
					ix.BindingsFrom(x.VHost, x.Name), ix.BindingsTo(x.VHost, topology.ToExchange, x.Name))...)
				keys = append(keys, topokv.ExchangeKey(inst, x.VHost, x.Name))
			}
		})
	})
	for _, q := range queues {
		if n, err := s.node(&q); err == nil {
			_, _ = n.DeleteQueue(ctx, q.ID, false, false) // the node may have dropped it already
		}
	}
	if len(keys) == 0 {
		return nil
	}
	_, err := s.deleteKeys(ctx, keys)
	return err
}
