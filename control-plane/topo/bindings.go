package topo

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// Bind adds a binding; binding twice is a no-op. Both ends must exist.
func (s *Service) Bind(ctx context.Context, inst string, b topology.Binding) (control.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing error
	s.read(inst, func(ix *route.Index) { missing = checkEnds(ix, b) })
	if missing != nil {
		return control.Result{}, missing
	}
	key, err := topokv.BindingKey(inst, b)
	if err != nil {
		return control.Result{}, reply.Errorf(reply.PreconditionFailed, "invalid binding arguments: %v", err)
	}
	val, err := topokv.EncodeBinding(b)
	if err != nil {
		return control.Result{}, err
	}
	rev, err := s.kv.Create(ctx, key, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return control.Result{Revision: s.mirror.Revision()}, nil
	}
	if err != nil {
		return control.Result{}, fmt.Errorf("create binding: %w", err)
	}
	return control.Result{Revision: rev}, s.settle(ctx, rev)
}

// checkEnds refuses a binding whose source or destination does not exist,
// with RabbitMQ's 404 texts.
func checkEnds(ix *route.Index, b topology.Binding) error {
	src, ok := ix.Exchange(b.VHost, b.Source)
	if !ok {
		return reply.NotFoundExchange(b.VHost, b.Source)
	}
	if src.Type == topology.Headers {
		if err := topology.CheckXMatch(b.Args); err != nil {
			return err
		}
	}
	if b.DestKind == topology.ToExchange {
		if _, ok := ix.Exchange(b.VHost, b.Dest); !ok {
			return reply.NotFoundExchange(b.VHost, b.Dest)
		}
		return nil
	}
	if _, ok := ix.Queue(b.VHost, b.Dest); !ok {
		return reply.NotFoundQueue(b.VHost, b.Dest)
	}
	return nil
}

// Unbind removes a binding; a missing binding is not an error (RabbitMQ's
// unbind is idempotent) but missing ends are. An auto-delete source exchange
// that loses its last binding is deleted.
func (s *Service) Unbind(ctx context.Context, inst string, b topology.Binding) (control.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, err := topokv.BindingKey(inst, b)
	if err != nil {
		return control.Result{Revision: s.mirror.Revision()}, nil
	}
	var missing error
	var keys []string
	s.read(inst, func(ix *route.Index) {
		if missing = checkEnds(ix, b); missing != nil {
			return
		}
		id, _ := topokv.BindingID(b)
		if _, bound := ix.BindingsFrom(b.VHost, b.Source)[id]; !bound {
			return
		}
		keys = []string{key}
		keys = append(keys, s.autoDeleteLocked(inst, ix, b.VHost, b.Source, 1)...)
	})
	if missing != nil || len(keys) == 0 {
		return control.Result{Revision: s.mirror.Revision()}, missing
	}
	rev, err := s.deleteKeys(ctx, keys)
	return control.Result{Revision: rev}, err
}

// autoDeleteLocked returns the key of an auto-delete exchange that is about
// to lose its last `removing` source bindings, if it is one.
func (s *Service) autoDeleteLocked(inst string, ix *route.Index, vhost, name string, removing int) []string {
	x, ok := ix.Exchange(vhost, name)
	if !ok || !x.AutoDelete || len(ix.BindingsFrom(vhost, name)) > removing {
		return nil
	}
	keys := bindingKeys(inst, vhost, ix.BindingsTo(vhost, topology.ToExchange, name))
	return append(keys, topokv.ExchangeKey(inst, vhost, name))
}
