package conn

import (
	"slices"
	"strings"

	"github.com/warrenmq/warren/api/amqp"
)

// ChannelInfo is what the management API shows of an open channel.
type ChannelInfo struct {
	Number          uint16
	Confirm         bool
	Transactional   bool
	Closing         bool   // channel.close sent, close-ok awaited
	Prefetch        uint32 // basic.qos global=false
	GlobalPrefetch  uint32 // basic.qos global=true
	Unacked         int    // deliveries awaiting ack
	Uncommitted     int    // publishes held by an open transaction
	AcksUncommitted int    // settlements held by an open transaction
	Consumers       []ConsumerInfo
}

// ConsumerInfo is what the management API shows of a consumer.
type ConsumerInfo struct {
	Tag       string
	VHost     string
	Queue     string
	NoAck     bool
	Exclusive bool
	Prefetch  uint32 // per-consumer prefetch as of basic.consume; 0: none
	Arguments amqp.Table
}

// Channels describes the connection's channels, by number, once
// connection.open has succeeded (nil before). It takes the dispatch lock
// and then each channel's lock, the order the dispatcher takes them in.
func (c *Conn) Channels() []ChannelInfo {
	if c.Identity() == nil {
		return nil
	}
	c.dispatchMu.Lock()
	defer c.dispatchMu.Unlock()
	out := make([]ChannelInfo, 0, len(c.channels))
	for _, ch := range c.channels {
		out = append(out, ch.info())
	}
	slices.SortFunc(out, func(a, b ChannelInfo) int { return int(a.Number) - int(b.Number) })
	return out
}

// info describes the channel. Called under dispatchMu.
func (ch *channel) info() ChannelInfo {
	in := ChannelInfo{Number: ch.id, Confirm: ch.confirm, Transactional: ch.tx != nil, Closing: ch.closing.Load(),
		Prefetch: ch.prefetch, GlobalPrefetch: ch.globalPrefetch}
	if ch.tx != nil {
		in.Uncommitted, in.AcksUncommitted = len(ch.tx.publishes), len(ch.tx.settles)
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	in.Unacked = ch.mu.deliveries.open
	for _, cons := range ch.consumers {
		in.Consumers = append(in.Consumers, ConsumerInfo{Tag: cons.tag, VHost: cons.queue.VHost, Queue: cons.queue.Name,
			NoAck: cons.noAck, Exclusive: cons.exclusive, Prefetch: cons.cs.limit, Arguments: cons.args})
	}
	slices.SortFunc(in.Consumers, func(a, b ConsumerInfo) int { return strings.Compare(a.Tag, b.Tag) })
	return in
}
