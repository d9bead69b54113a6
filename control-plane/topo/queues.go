package topo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// DeclareQueue creates a queue on a storage node and records it, or checks a
// redeclare: exclusive ownership first (405), then equivalence (406).
func (s *Service) DeclareQueue(ctx context.Context, inst, conn string, q topology.Queue) (control.QueueResult, error) {
	if q.Exclusive {
		q.Owner, q.Durable = conn, false // RabbitMQ ignores durable on exclusive queues
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var have *topology.Queue
	s.read(inst, func(ix *route.Index) { have, _ = ix.Queue(q.VHost, q.Name) })
	if have != nil {
		return s.redeclare(ctx, conn, *have, q)
	}
	spec, err := q.QueueSpec()
	if err != nil {
		return control.QueueResult{}, err
	}
	if err := s.checkQueueQuotaLocked(inst, q); err != nil {
		return control.QueueResult{}, err
	}
	name, node, err := s.placeQueue(inst)
	if err != nil {
		return control.QueueResult{}, reply.Errorf(reply.InternalError, "%v", err)
	}
	q.ID, q.Node = newQueueID(), name
	spec.ID = q.ID
	if err := node.CreateQueue(ctx, spec); err != nil {
		return control.QueueResult{}, fmt.Errorf("create queue %s on %s: %w", q.Name, name, err)
	}
	rev, err := s.createQueueRecord(ctx, inst, q)
	if err != nil {
		_, _ = node.DeleteQueue(ctx, q.ID, false, false)
		return control.QueueResult{}, err
	}
	return control.QueueResult{Queue: q, Revision: rev}, s.settle(ctx, rev)
}

func (s *Service) createQueueRecord(ctx context.Context, inst string, q topology.Queue) (uint64, error) {
	val, err := topokv.EncodeQueue(q)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, topokv.QueueKey(inst, q.VHost, q.Name), val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, reply.Errorf(reply.InternalError, "queue '%s' in vhost '%s' declared concurrently", q.Name, q.VHost)
	}
	if err != nil {
		return 0, fmt.Errorf("create queue record %s: %w", q.Name, err)
	}
	return rev, nil
}

func (s *Service) redeclare(ctx context.Context, conn string, have, want topology.Queue) (control.QueueResult, error) {
	if err := topology.CheckExclusive(&have, conn); err != nil {
		return control.QueueResult{}, err
	}
	if err := topology.EquivalentQueue(have, want); err != nil {
		return control.QueueResult{}, err
	}
	node, err := s.node(&have)
	if err != nil {
		return control.QueueResult{}, err
	}
	_ = node.Touch(ctx, have.ID)
	st, err := node.Stats(ctx, have.ID)
	if err != nil {
		return control.QueueResult{}, err
	}
	return control.QueueResult{Queue: have, Revision: s.mirror.Revision(), Messages: st.Ready, Consumers: st.Consumers}, nil
}

// DeleteQueue deletes a queue, its messages and its bindings. A missing queue
// is not an error (RabbitMQ's delete is idempotent). conn empty means the
// system itself deletes (expiry, auto-delete, owner gone) and skips the
// exclusivity check.
func (s *Service) DeleteQueue(ctx context.Context, inst, conn, vhost, name string, ifUnused, ifEmpty bool) (control.QueueResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var q *topology.Queue
	s.read(inst, func(ix *route.Index) { q, _ = ix.Queue(vhost, name) })
	if q == nil {
		return control.QueueResult{Revision: s.mirror.Revision()}, nil
	}
	if conn != "" {
		if err := topology.CheckExclusive(q, conn); err != nil {
			return control.QueueResult{}, err
		}
	}
	return s.deleteQueueLocked(ctx, inst, q, ifUnused, ifEmpty)
}

func (s *Service) deleteQueueLocked(ctx context.Context, inst string, q *topology.Queue, ifUnused, ifEmpty bool) (control.QueueResult, error) {
	node, err := s.node(q)
	if err != nil {
		return control.QueueResult{}, err
	}
	n, err := node.DeleteQueue(ctx, q.ID, ifUnused, ifEmpty)
	if err != nil {
		return control.QueueResult{}, err
	}
	var keys []string
	s.read(inst, func(ix *route.Index) {
		to := ix.BindingsTo(q.VHost, topology.ToQueue, q.Name)
		keys = bindingKeys(inst, q.VHost, to)
		for _, src := range sourcesLosingAll(ix, q.VHost, to) {
			keys = append(keys, s.autoDeleteLocked(inst, ix, q.VHost, src.name, src.count)...)
		}
	})
	keys = append(keys, topokv.QueueKey(inst, q.VHost, q.Name))
	rev, err := s.deleteKeys(ctx, keys)
	return control.QueueResult{Queue: *q, Revision: rev, Messages: n}, err
}

type sourceCount struct {
	name  string
	count int
}

// sourcesLosingAll counts, per source exchange, the bindings about to go.
func sourcesLosingAll(ix *route.Index, vhost string, going map[string]topology.Binding) []sourceCount {
	counts := map[string]int{}
	for _, b := range going {
		counts[b.Source]++
	}
	out := make([]sourceCount, 0, len(counts))
	for name, n := range counts {
		out = append(out, sourceCount{name, n})
	}
	return out
}

// ConnectionClosed deletes the exclusive queues a connection owned.
func (s *Service) ConnectionClosed(ctx context.Context, inst, conn string) error {
	var owned []topology.Queue
	s.read(inst, func(ix *route.Index) {
		ix.Queues(func(q *topology.Queue) {
			if q.Exclusive && q.Owner == conn {
				owned = append(owned, *q)
			}
		})
	})
	var errs []error
	for _, q := range owned {
		if _, err := s.DeleteQueue(ctx, inst, "", q.VHost, q.Name, false, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteUnusedQueue deletes the queue with storage ID id, if it still
// exists: a storage node reported it unused (auto-delete, x-expires).
func (s *Service) DeleteUnusedQueue(ctx context.Context, inst string, id storage.QueueID) error {
	var q *topology.Queue
	s.read(inst, func(ix *route.Index) {
		ix.Queues(func(c *topology.Queue) {
			if c.ID == id {
				q = c
			}
		})
	})
	if q == nil {
		return nil
	}
	_, err := s.DeleteQueue(ctx, inst, "", q.VHost, q.Name, false, false)
	return err
}

// DropOrphanedExclusive deletes the exclusive queues whose owning
// connection belongs to a gateway that is no longer up. Connection ids are
// "<gateway id>-<n>"; gatewayUp reports whether a gateway id is registered
// alive. It returns how many queues it deleted.
func (s *Service) DropOrphanedExclusive(ctx context.Context, inst string, gatewayUp func(id string) bool) (int, error) {
	var orphans []topology.Queue
	s.read(inst, func(ix *route.Index) {
		ix.Queues(func(q *topology.Queue) {
			if q.Exclusive && !gatewayUp(gatewayOf(q.Owner)) {
				orphans = append(orphans, *q)
			}
		})
	})
	var errs []error
	for _, q := range orphans {
		if _, err := s.DeleteQueue(ctx, inst, "", q.VHost, q.Name, false, false); err != nil {
			errs = append(errs, err)
		}
	}
	return len(orphans), errors.Join(errs...)
}

// gatewayOf is the gateway part of a connection id "<gateway>-<n>".
func gatewayOf(conn string) string {
	if i := strings.LastIndexByte(conn, '-'); i > 0 {
		return conn[:i]
	}
	return conn
}

// QueueStats asks the storage node that owns q for its counts. It fails
// when the node is unknown or does not answer; the queue is unchanged.
func (s *Service) QueueStats(ctx context.Context, q *topology.Queue) (storage.QueueStats, error) {
	node, err := s.node(q)
	if err != nil {
		return storage.QueueStats{}, err
	}
	return node.Stats(ctx, q.ID)
}

// PurgeQueue removes a queue's ready messages and returns how many; a
// missing queue is RabbitMQ's 404.
func (s *Service) PurgeQueue(ctx context.Context, inst, vhost, name string) (uint64, error) {
	var q *topology.Queue
	s.read(inst, func(ix *route.Index) { q, _ = ix.Queue(vhost, name) })
	if q == nil {
		return 0, reply.NotFoundQueue(vhost, name)
	}
	node, err := s.node(q)
	if err != nil {
		return 0, err
	}
	return node.PurgeQueue(ctx, q.ID)
}
