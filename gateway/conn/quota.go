package conn

import (
	"strings"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
)

// The instance's max_queues and max_exchanges are checked here, against
// this gateway's mirror and the instance record as it is now (a quota
// raised over REST applies to the next declare). Declares through two
// gateways at the same moment may each take the last place: the quota can
// be passed by the number of gateways declaring at once, never more.

// checkQueueQuota refuses a new queue past max_queues with RabbitMQ's
// refusal for a vhost's queue limit (rabbit_amqqueue:check_vhost_queue_limit).
// A redeclare of an existing queue is never refused.
func (ch *channel) checkQueueQuota(name string) error {
	max := ch.c.instanceQuotas().MaxQueues
	if max == 0 {
		return nil
	}
	n, exists := 0, false
	ch.read(func(ix *route.Index) {
		if _, exists = ix.Queue(ch.c.vhost, name); !exists {
			ix.Queues(func(*topology.Queue) { n++ })
		}
	})
	if exists || n < int(max) {
		return nil
	}
	return reply.Errorf(reply.PreconditionFailed, "cannot declare queue '%s': queue limit in vhost '%s' (%d) is reached",
		name, ch.c.vhost, max)
}

// checkExchangeQuota refuses a new exchange past max_exchanges, which does
// not count the exchanges every vhost has, with RabbitMQ's refusal for its
// exchange limit.
func (ch *channel) checkExchangeQuota(name string) error {
	max := ch.c.instanceQuotas().MaxExchanges
	if max == 0 {
		return nil
	}
	n, exists := 0, false
	ch.read(func(ix *route.Index) {
		if _, exists = ix.Exchange(ch.c.vhost, name); !exists {
			ix.Exchanges(func(x topology.Exchange) {
				if x.Name != "" && !strings.HasPrefix(x.Name, "amq.") {
					n++
				}
			})
		}
	})
	if exists || n < int(max) {
		return nil
	}
	return reply.Errorf(reply.PreconditionFailed, "cannot declare exchange '%s' in vhost '%s': exchange limit of %d is reached",
		name, ch.c.vhost, max)
}
