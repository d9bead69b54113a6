package conn

import (
	"testing"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/topology"
)

// A channel's description carries what the management API shows: its
// modes, prefetch, unacked deliveries and consumers, sorted by tag.
func TestChannelInfo(t *testing.T) {
	ch := newTestChannel(10, 50)
	ch.tx = &txBuffer{publishes: make([]*pubReq, 2), settles: make([]settleOp, 1)}
	q := &topology.Queue{VHost: "prod", Name: "work"}
	for _, tag := range []string{"b", "a"} {
		cons, _, _ := addConsumer(ch, tag)
		cons.queue, cons.exclusive, cons.args = q, tag == "a", amqp.Table{"x-priority": int32(5)}
	}
	ch.mu.deliveries.add(delivery{})
	in := ch.info()
	if in.Number != 1 || in.Prefetch != 10 || in.GlobalPrefetch != 50 || !in.Transactional || in.Confirm ||
		in.Uncommitted != 2 || in.AcksUncommitted != 1 || in.Unacked != 1 {
		t.Errorf("channel %+v", in)
	}
	if len(in.Consumers) != 2 || in.Consumers[0].Tag != "a" || !in.Consumers[0].Exclusive ||
		in.Consumers[0].Prefetch != 10 || in.Consumers[1].Queue != "work" || in.Consumers[1].VHost != "prod" {
		t.Errorf("consumers %+v", in.Consumers)
	}
}
