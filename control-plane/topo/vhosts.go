package topo

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// ErrVHostExists and ErrNoVHost are CreateVHost's and UpdateVHost's refusals.
var (
	ErrVHostExists = errors.New("vhost exists")
	ErrNoVHost     = errors.New("no such vhost")
)

// CreateVHost creates a vhost with the exchanges every vhost has, or
// returns ErrVHostExists. The exchanges are written before the vhost
// record: a vhost exists for clients once its record does, so a failure
// midway leaves nothing visible, and a retry rewrites the same exchanges.
func (s *Service) CreateVHost(ctx context.Context, inst string, v topology.VHost) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var exists bool
	s.read(inst, func(ix *route.Index) { exists = ix.VHost(v.Name) })
	if exists {
		return ErrVHostExists
	}
	if err := s.putSystemExchanges(ctx, inst, v.Name); err != nil {
		return err
	}
	val, err := topokv.EncodeVHost(v)
	if err != nil {
		return err
	}
	rev, err := s.kv.Create(ctx, topokv.VHostKey(inst, v.Name), val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return ErrVHostExists
	}
	if err != nil {
		return fmt.Errorf("create vhost %s: %w", v.Name, err)
	}
	return s.settle(ctx, rev)
}

// EnsureVHost creates a vhost and its system exchanges if missing; an
// existing vhost keeps its metadata.
func (s *Service) EnsureVHost(ctx context.Context, inst, vhost string) error {
	err := s.CreateVHost(ctx, inst, topology.VHost{Name: vhost})
	if errors.Is(err, ErrVHostExists) {
		return nil
	}
	return err
}

func (s *Service) putSystemExchanges(ctx context.Context, inst, vhost string) error {
	for _, x := range topology.SystemExchanges(vhost) {
		val, err := topokv.EncodeExchange(x)
		if err != nil {
			return err
		}
		if _, err := s.kv.Put(ctx, topokv.ExchangeKey(inst, vhost, x.Name), val); err != nil {
			return fmt.Errorf("put exchange %s: %w", x.Name, err)
		}
	}
	return nil
}

// UpdateVHost replaces a vhost's description and tags, or returns
// ErrNoVHost. The write is a compare-and-set on the record it read.
func (s *Service) UpdateVHost(ctx context.Context, inst string, v topology.VHost) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := topokv.VHostKey(inst, v.Name)
	cur, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNoVHost
	}
	if err != nil {
		return fmt.Errorf("read vhost %s: %w", v.Name, err)
	}
	val, err := topokv.EncodeVHost(v)
	if err != nil {
		return err
	}
	rev, err := s.kv.Update(ctx, key, val, cur.Revision())
	if err != nil {
		return fmt.Errorf("update vhost %s: %w", v.Name, err)
	}
	return s.settle(ctx, rev)
}

// DeleteVHost deletes a vhost and all it holds: its queues with their
// messages on their storage nodes, then its permissions, bindings, queues
// and exchanges, and the vhost record last, so a deletion cut short (a
// node down, NATS gone) leaves the vhost in place to be deleted again.
// A missing vhost is not an error.
func (s *Service) DeleteVHost(ctx context.Context, inst, vhost string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dropQueuesLocked(ctx, inst, vhost); err != nil {
		return err
	}
	keys, err := s.listKeys(ctx, topokv.VHostContents(inst, vhost))
	if err != nil {
		return err
	}
	topokv.SortForDelete(keys)
	_, err = s.deleteKeys(ctx, append(keys, topokv.VHostKey(inst, vhost)))
	return err
}

// dropQueuesLocked deletes the vhost's queues on their storage nodes.
func (s *Service) dropQueuesLocked(ctx context.Context, inst, vhost string) error {
	var queues []topology.Queue
	s.read(inst, func(ix *route.Index) {
		ix.Queues(func(q *topology.Queue) {
			if q.VHost == vhost {
				queues = append(queues, *q)
			}
		})
	})
	for _, q := range queues {
		n, err := s.node(&q)
		if err != nil {
			return err
		}
		if _, err := n.DeleteQueue(ctx, q.ID, false, false); err != nil {
			return fmt.Errorf("delete queue %s on %s: %w", q.Name, q.Node, err)
		}
	}
	return nil
}

// listKeys lists the bucket's keys matching a filter (topokv's filters).
func (s *Service) listKeys(ctx context.Context, filter string) ([]string, error) {
	l, err := s.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list keys %s: %w", filter, err)
	}
	var keys []string
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	// The lister ends its watch itself once the keys are out, or early when
	// ctx ends: then the list is short.
	return keys, ctx.Err()
}

// DeleteInstanceContents deletes every vhost of an instance as DeleteVHost
// does, then its remaining records (users, permissions); the instance
// record itself is its owner's to delete, last.
func (s *Service) DeleteInstanceContents(ctx context.Context, inst string) error {
	var vhosts []string
	s.read(inst, func(ix *route.Index) {
		ix.VHosts(func(v topology.VHost) { vhosts = append(vhosts, v.Name) })
	})
	for _, v := range vhosts {
		if err := s.DeleteVHost(ctx, inst, v); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, err := s.listKeys(ctx, topokv.InstanceContents(inst))
	if err != nil {
		return err
	}
	topokv.SortForDelete(keys)
	_, err = s.deleteKeys(ctx, keys)
	return err
}
