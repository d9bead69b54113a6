package perf

import (
	"fmt"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// returnBuffer sizes the basic.return listener channel. A goroutine drains
// it, so the size only smooths bursts of returns.
const returnBuffer = 64

// producer publishes to one queue over its own connection. Its goroutine
// owns the body buffer and the pacer; the counters are atomics read by the
// progress reporter. With confirms, a second goroutine counts
// confirmations and frees window slots.
type producer struct {
	id    int
	queue string
	cl    *client
	size  int
	mode  uint8       // delivery mode: amqp.Transient or amqp.Persistent
	pace  *pacer      // nil when the rate is unlimited
	rate  float64     // per-producer msg/s, 0 = unlimited; pace is built from it at start
	fail  func(error) // records a run failure
	// window holds one token per unconfirmed publish (nil without
	// confirms): publishing sends into it, each confirmation takes one
	// out, so at most cap(window) publishes are unconfirmed. The confirm
	// goroutine never blocks, so a slow confirm stalls only this producer
	// and never the library's frame reader.
	window chan struct{}

	published, confirmed, nacked, returned atomic.Uint64
}

// newProducer connects producer id and puts its channel in confirm mode if
// asked. On error nothing is left open.
func newProducer(id int, cfg *Config, fail func(error)) (*producer, error) {
	cl, err := dial(cfg.URI, fmt.Sprintf("producer %d", id), cfg.CoalesceWrites)
	if err != nil {
		return nil, err
	}
	p := &producer{
		id:    id,
		queue: cfg.queueName(id % cfg.Queues),
		cl:    cl,
		size:  cfg.Size,
		mode:  amqp.Transient,
		fail:  fail,
	}
	if cfg.Persistent {
		p.mode = amqp.Persistent
	}
	if cfg.Rate > 0 {
		p.rate = cfg.Rate / float64(cfg.Producers)
	}
	if cfg.Confirm > 0 {
		if err := cl.ch.Confirm(false); err != nil {
			cl.close()
			return nil, fmt.Errorf("%s: confirm.select: %w", cl.name, describe(err))
		}
		p.window = make(chan struct{}, cfg.Confirm)
		// Never more confirmations pending than the window holds.
		go p.countConfirms(cl.ch.NotifyPublish(make(chan amqp.Confirmation, cfg.Confirm+1)))
	}
	go p.countReturns(cl.ch.NotifyReturn(make(chan amqp.Return, returnBuffer)))
	cl.watch(fail)
	return p, nil
}

// run publishes quota messages (0: until stop closes), then waits for the
// outstanding confirms until abort closes. An error means the channel or
// connection failed; the counters say what got through.
func (p *producer) run(quota uint64, stop, abort <-chan struct{}) error {
	if p.rate > 0 {
		p.pace = newPacer(unixNanos(), p.rate)
	}
	if err := p.publish(quota, stop); err != nil {
		return err
	}
	if p.window != nil {
		p.awaitConfirms(abort)
	}
	return nil
}

// publish is the hot loop: one body buffer and one Publishing for the
// whole run, rewritten in place (Publish has copied the body into the
// socket buffer by the time it returns).
func (p *producer) publish(quota uint64, stop <-chan struct{}) error {
	body := make([]byte, p.size)
	msg := amqp.Publishing{DeliveryMode: p.mode, Body: body}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for seq := uint64(0); quota == 0 || seq < quota; seq++ {
		if !p.await(timer, stop) {
			return nil
		}
		encodeBody(body, unixNanos(), p.id, seq)
		// mandatory, so that a message no queue takes comes back as a
		// basic.return and is counted instead of silently dropped.
		if err := p.cl.ch.Publish("", p.queue, true, false, msg); err != nil {
			return fmt.Errorf("%s: publish: %w", p.cl.name, describe(err))
		}
		p.published.Add(1)
	}
	return nil
}

// await blocks until the next message may go: the pacer's due time has
// come and the confirm window has room. It returns false when stop closes
// first.
func (p *producer) await(timer *time.Timer, stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
	}
	if p.pace != nil {
		now := unixNanos()
		if wait := p.pace.next(now) - now; wait > 0 {
			timer.Reset(time.Duration(wait))
			select {
			case <-timer.C:
			case <-stop:
				timer.Stop()
				return false
			}
		}
	}
	if p.window != nil {
		select {
		case p.window <- struct{}{}:
		case <-stop:
			return false
		}
	}
	return true
}

// awaitConfirms returns once every publish is confirmed (the window can be
// filled to capacity) or abort closes.
func (p *producer) awaitConfirms(abort <-chan struct{}) {
	for range cap(p.window) {
		select {
		case p.window <- struct{}{}:
		case <-abort:
			return
		}
	}
}

// unconfirmed returns how many publishes wait for a confirm.
func (p *producer) unconfirmed() uint64 {
	return p.published.Load() - p.confirmed.Load() - p.nacked.Load()
}

// countConfirms runs until the channel closes. The library resequences
// confirms and expands multiple=true into one Confirmation per tag.
func (p *producer) countConfirms(confirms <-chan amqp.Confirmation) {
	for c := range confirms {
		if c.Ack {
			p.confirmed.Add(1)
		} else {
			p.nacked.Add(1)
		}
		select {
		case <-p.window:
		default: // A publish takes its slot before it is sent.
			p.fail(fmt.Errorf("%s: confirm for delivery tag %d, which was never published", p.cl.name, c.DeliveryTag))
		}
	}
}

// countReturns runs until the channel closes.
func (p *producer) countReturns(returns <-chan amqp.Return) {
	for range returns {
		p.returned.Add(1)
	}
}
