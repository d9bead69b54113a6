package perf

import (
	"fmt"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
)

// consumer consumes one queue over its own connection. Its goroutine owns
// the ack bookkeeping and is the only writer of hist and the counters,
// which the progress reporter reads concurrently.
type consumer struct {
	id       int
	queue    string
	cl       *client
	autoAck  bool
	ackEvery int      // manual ack: ack multiple=true every ackEvery deliveries
	seen     *seenSet // shared by all consumers
	since    int64    // unix ns the run began; bodies stamped earlier are not ours

	hist Histogram // end-to-end latency, ns
	// consumed counts every delivery; duplicates and dupRedelivered those
	// consumed before (without/with the redelivered flag); foreign those
	// this run never published (short body, old stamp, unknown producer).
	consumed, duplicates, dupRedelivered, foreign atomic.Uint64
	last                                          atomic.Int64 // unix ns of the latest delivery
}

// newConsumer connects consumer id and sets its prefetch. It does not
// subscribe yet. On error nothing is left open.
func newConsumer(id int, cfg *Config, seen *seenSet, since int64, fail func(error)) (*consumer, error) {
	cl, err := dial(cfg.URI, fmt.Sprintf("consumer %d", id), cfg.CoalesceWrites)
	if err != nil {
		return nil, err
	}
	if cfg.Prefetch > 0 {
		if err := cl.ch.Qos(cfg.Prefetch, 0, false); err != nil {
			cl.close()
			return nil, fmt.Errorf("%s: basic.qos: %w", cl.name, describe(err))
		}
	}
	cl.watch(fail)
	return &consumer{
		id:       id,
		queue:    cfg.queueName(id % cfg.Queues),
		cl:       cl,
		autoAck:  cfg.AutoAck,
		ackEvery: cfg.MultiAckEvery,
		seen:     seen,
		since:    since,
	}, nil
}

// subscribe issues basic.consume and returns once the broker answered.
func (c *consumer) subscribe() (<-chan amqp.Delivery, error) {
	tag := fmt.Sprintf("warren-perf-%d", c.id)
	d, err := c.cl.ch.Consume(c.queue, tag, c.autoAck, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: basic.consume %s: %w", c.cl.name, c.queue, describe(err))
	}
	return d, nil
}

// run records deliveries until stop closes, then acks what it holds
// unacked. An error means the channel failed or the broker cancelled the
// consumer.
func (c *consumer) run(deliveries <-chan amqp.Delivery, stop <-chan struct{}) error {
	var pending, lastTag uint64 // unacked deliveries, the newest one's tag
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("%s: delivery stream ended: the broker cancelled the consumer or the channel closed", c.cl.name)
			}
			c.record(d.Body, d.Redelivered, unixNanos())
			if c.autoAck {
				continue
			}
			if pending, lastTag = pending+1, d.DeliveryTag; pending < uint64(c.ackEvery) {
				continue
			}
			if err := d.Ack(c.ackEvery > 1); err != nil {
				return fmt.Errorf("%s: ack: %w", c.cl.name, describe(err))
			}
			pending = 0
		case <-stop:
			if pending == 0 {
				return nil
			}
			if err := c.cl.ch.Ack(lastTag, true); err != nil {
				return fmt.Errorf("%s: ack: %w", c.cl.name, describe(err))
			}
			return nil
		}
	}
}

// record accounts for one delivery received at now (unix ns).
func (c *consumer) record(body []byte, redelivered bool, now int64) {
	c.consumed.Add(1)
	c.last.Store(now)
	sent, producer, seq, ok := decodeBody(body)
	if !ok || sent < c.since {
		c.foreign.Add(1)
		return
	}
	switch c.seen.mark(producer, seq) {
	case markUnknownProducer:
		c.foreign.Add(1)
		return
	case markDuplicate:
		if redelivered {
			c.dupRedelivered.Add(1)
		} else {
			c.duplicates.Add(1)
		}
	}
	c.hist.Record(now - sent)
}
