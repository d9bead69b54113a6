package topo

import (
	"context"
	"fmt"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// DeclareExchange creates an exchange, or checks a redeclare is equivalent.
// The gateway has already refused reserved names and the default exchange.
func (s *Service) DeclareExchange(ctx context.Context, inst string, x topology.Exchange) (control.Result, error) {
	if !topology.ValidExchangeType(x.Type) {
		return control.Result{}, reply.Errorf(reply.CommandInvalid, "unknown exchange type '%s'", x.Type)
	}
	if err := x.ParseExchangeArgs(); err != nil {
		return control.Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var have topology.Exchange
	var exists bool
	s.read(inst, func(ix *route.Index) { have, exists = ix.Exchange(x.VHost, x.Name) })
	if exists {
		return control.Result{Revision: s.mirror.Revision()}, topology.EquivalentExchange(have, x)
	}
	if err := s.checkExchangeQuotaLocked(inst, x); err != nil {
		return control.Result{}, err
	}
	val, err := topokv.EncodeExchange(x)
	if err != nil {
		return control.Result{}, err
	}
	rev, err := s.kv.Create(ctx, topokv.ExchangeKey(inst, x.VHost, x.Name), val)
	if err != nil {
		return control.Result{}, fmt.Errorf("create exchange %s: %w", x.Name, err)
	}
	return control.Result{Revision: rev}, s.settle(ctx, rev)
}

// DeleteExchange deletes an exchange and every binding to or from it.
// Deleting a missing exchange succeeds, as in RabbitMQ.
func (s *Service) DeleteExchange(ctx context.Context, inst, vhost, name string, ifUnused bool) (control.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	var refusal error
	s.read(inst, func(ix *route.Index) {
		if _, ok := ix.Exchange(vhost, name); !ok {
			return
		}
		from := ix.BindingsFrom(vhost, name)
		if ifUnused && len(from) > 0 {
			refusal = reply.Errorf(reply.PreconditionFailed, "exchange '%s' in vhost '%s' in use", name, vhost)
			return
		}
		keys = bindingKeys(inst, vhost, from, ix.BindingsTo(vhost, topology.ToExchange, name))
		keys = append(keys, topokv.ExchangeKey(inst, vhost, name))
	})
	if refusal != nil || len(keys) == 0 {
		return control.Result{Revision: s.mirror.Revision()}, refusal
	}
	rev, err := s.deleteKeys(ctx, keys)
	return control.Result{Revision: rev}, err
}

// bindingKeys lists the KV keys of bindings.
func bindingKeys(inst, vhost string, sets ...map[string]topology.Binding) []string {
	var keys []string
	for _, set := range sets {
		for _, b := range set {
			if k, err := topokv.BindingKey(inst, b); err == nil {
				keys = append(keys, k)
			}
		}
	}
	return keys
}
