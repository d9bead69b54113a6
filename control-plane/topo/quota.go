package topo

import (
	"errors"
	"fmt"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
)

// ErrQuota marks a declare refused by the instance's max_queues or
// max_exchanges. The error also holds the AMQP refusal RabbitMQ gives for
// its vhost limits (a *reply.Error), which is what a gateway's client sees.
//
// The checks run here, under the service's lock and against a mirror
// settled on every earlier write, so declares through any number of
// gateways and the REST API at once never pass the quota; a raised quota
// applies to the next declare.
var ErrQuota = errors.New("instance quota reached")

// quotas returns the instance's quotas as the mirror holds them now.
func (s *Service) quotas(inst string) topology.Quotas {
	i, _ := s.mirror.Instance(inst)
	return i.Quotas
}

// checkQueueQuotaLocked refuses a new queue past max_queues with
// rabbit_amqqueue:check_vhost_queue_limit's text.
func (s *Service) checkQueueQuotaLocked(inst string, q topology.Queue) error {
	limit := s.quotas(inst).MaxQueues
	if limit == 0 {
		return nil
	}
	n := 0
	s.read(inst, func(ix *route.Index) { ix.Queues(func(*topology.Queue) { n++ }) })
	if n < int(limit) {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrQuota, reply.Errorf(reply.PreconditionFailed,
		"cannot declare queue '%s': queue limit in vhost '%s' (%d) is reached", q.Name, q.VHost, limit))
}

// checkExchangeQuotaLocked refuses a new exchange past max_exchanges, which
// does not count the exchanges every vhost has.
func (s *Service) checkExchangeQuotaLocked(inst string, x topology.Exchange) error {
	limit := s.quotas(inst).MaxExchanges
	if limit == 0 {
		return nil
	}
	n := 0
	s.read(inst, func(ix *route.Index) {
		ix.Exchanges(func(e topology.Exchange) {
			if !topology.IsSystemExchange(e.Name) {
				n++
			}
		})
	})
	if n < int(limit) {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrQuota, reply.Errorf(reply.PreconditionFailed,
		"cannot declare exchange '%s' in vhost '%s': exchange limit of %d is reached", x.Name, x.VHost, limit))
}
