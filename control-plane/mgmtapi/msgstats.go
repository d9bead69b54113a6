package mgmtapi

import pb "github.com/warrenmq/warren/api/provisionpb"

// flow is one message_stats figure: a total and its rate in msgs/s.
type flow struct {
	n    uint64
	rate float64
}

func (f *flow) add(g flow) { f.n += g.n; f.rate += g.rate }

// put writes f as RabbitMQ does: name and name_details.
func (f flow) put(m map[string]any, name string) {
	m[name] = f.n
	m[name+"_details"] = rate{f.rate}
}

// flows are the message figures of a queue, or of a sum of queues, as the
// storage nodes count them; the rates are of the node's last 5 s interval.
type flows struct {
	publish, deliver, deliverNoAck, get, getNoAck, getEmpty, redeliver, ack flow
}

func flowsOf(st *pb.QueueStats) flows {
	return flows{
		publish:      flow{st.GetPublish(), st.GetPublishRate()},
		deliver:      flow{st.GetDeliver(), st.GetDeliverRate()},
		deliverNoAck: flow{st.GetDeliverNoAck(), st.GetDeliverNoAckRate()},
		get:          flow{st.GetGet(), st.GetGetRate()},
		getNoAck:     flow{st.GetGetNoAck(), st.GetGetNoAckRate()},
		getEmpty:     flow{st.GetGetEmpty(), st.GetGetEmptyRate()},
		redeliver:    flow{st.GetRedeliver(), st.GetRedeliverRate()},
		ack:          flow{st.GetAck(), st.GetAckRate()},
	}
}

func (f *flows) add(g flows) {
	f.publish.add(g.publish)
	f.deliver.add(g.deliver)
	f.deliverNoAck.add(g.deliverNoAck)
	f.get.add(g.get)
	f.getNoAck.add(g.getNoAck)
	f.getEmpty.add(g.getEmpty)
	f.redeliver.add(g.redeliver)
	f.ack.add(g.ack)
}

// deliverGet is RabbitMQ's deliver_get: every message handed out.
func (f *flows) deliverGet() flow {
	d := f.deliver
	d.add(f.deliverNoAck)
	d.add(f.get)
	d.add(f.getNoAck)
	return d
}

// messageStats renders f as RabbitMQ 3.10's message_stats. RabbitMQ
// leaves out the figures it has no samples of: the publish figures until
// the queue took a message, the delivery ones (deliver, get, ack and the
// rest, together) until a message went out, was acked or a basic.get
// found none. An empty map is omitted from a queue.
func (f flows) messageStats() map[string]any {
	m := map[string]any{}
	if f.publish.n > 0 {
		f.publish.put(m, "publish")
	}
	if f.deliverGet().n+f.getEmpty.n+f.redeliver.n+f.ack.n == 0 {
		return m
	}
	f.deliver.put(m, "deliver")
	f.deliverNoAck.put(m, "deliver_no_ack")
	f.get.put(m, "get")
	f.getNoAck.put(m, "get_no_ack")
	f.getEmpty.put(m, "get_empty")
	f.deliverGet().put(m, "deliver_get")
	f.redeliver.put(m, "redeliver")
	f.ack.put(m, "ack")
	return m
}
