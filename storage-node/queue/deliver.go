package queue

import (
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
)

// takeHead pops the next deliverable entry, highest priority first,
// removing expired heads on the way (an expired message is never
// delivered). It stops when the top lane's head is not readable (a waiting
// lane): taking from a lower lane instead would reorder the deliveries.
func (q *Queue) takeHead(now int64, fx Effects) (li uint8, e Entry, fromStream, ok bool) {
	for {
		top := q.topLane()
		if top < 0 {
			return 0, Entry{}, false, false
		}
		li = uint8(top)
		if e, fromStream, ok = q.pop(li); !ok {
			return 0, Entry{}, false, false
		}
		if x := q.expiryOfEntry(&e); x == 0 || now < x {
			return li, e, fromStream, true
		}
		q.drop(li, e, fromStream, Expired, fx)
	}
}

// dispatch delivers ready messages while some consumer has credit.
func (q *Queue) dispatch(now int64, fx Effects) {
	for q.ready > 0 {
		c := q.cons.pick()
		if c == nil {
			return
		}
		li, e, fromStream, ok := q.takeHead(now, fx)
		if !ok {
			q.cons.unpick()
			return
		}
		q.deliver(li, c, e, fromStream, fx)
	}
}

// deliver hands a popped entry to c: removed at once for a no-ack consumer,
// held in flight otherwise.
func (q *Queue) deliver(li uint8, c *Consumer, e Entry, fromStream bool, fx Effects) {
	c.spend()
	gated := e.Stored == Durable && q.markDelivered(e.ID)
	q.countOut(&e, false, c.NoAck)
	if c.NoAck {
		q.settleDetached(li, &e, fromStream, fx)
	} else {
		q.hold(li, e, fromStream, c.Session, c)
	}
	fx.Deliver(c, e, gated)
}

// Consume adds a consumer and delivers to it what its credit allows.
// Refusals are *reply.Error: 403 when an exclusive consumer holds the queue,
// or when an exclusive consumer asks for a queue that has consumers (or is
// single-active-consumer, as RabbitMQ refuses that combination); 530 for a
// tag already used in the session.
func (q *Queue) Consume(now int64, c *Consumer, fx Effects) error {
	if q.cons.exclusiveHeld() || (c.Exclusive && (q.cons.len() > 0 || q.cons.sac)) {
		return q.errExclusive()
	}
	if q.cons.find(c.Session, c.Tag) != nil {
		return reply.Errorf(reply.NotAllowed, "attempt to reuse consumer tag '%s'", c.Tag)
	}
	c.shared = q.unackedOf(c.Session)
	q.cons.add(c)
	q.hadConsumer = true
	q.unusedSent = false
	q.dispatch(now, fx)
	return nil
}

// Cancel removes a consumer; its unacked deliveries stay with its session.
// It reports false for an unknown consumer.
func (q *Queue) Cancel(now int64, sess SessionID, tag string, fx Effects) bool {
	c := q.cons.find(sess, tag)
	if c == nil {
		return false
	}
	q.removeConsumer(now, c, fx)
	q.dispatch(now, fx)
	return true
}

// removeConsumer drops c; the last consumer leaving starts the x-expires
// clock and, for an auto-delete queue that had one, reports it unused.
func (q *Queue) removeConsumer(now int64, c *Consumer, fx Effects) {
	q.cons.remove(c)
	if q.cons.len() > 0 {
		return
	}
	q.lastUsed = now
	if q.spec.AutoDelete && q.hadConsumer && !q.unusedSent {
		q.unusedSent = true
		fx.Unused(q.spec.ID, "auto-delete")
	}
}

// Grant adds credit to a consumer and delivers what it allows.
func (q *Queue) Grant(now int64, sess SessionID, tag string, n uint32, fx Effects) {
	c := q.cons.find(sess, tag)
	if c == nil || c.Unlimited {
		return
	}
	c.Credit = satAdd(c.Credit, n)
	q.dispatch(now, fx)
}

func satAdd(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint32(0)
}

// Get takes the next ready message for a basic.get of session sess; ok is
// false when there is none. remaining is the ready count after it. gated has
// Effects.Deliver's meaning. err is ErrNotReady when the next message is on
// disk and not readable yet: nothing was taken (expired heads before it may
// have been removed), and the caller should hold the get and apply it again
// from Resume. RabbitMQ 3.10 allows basic.get on a classic
// single-active-consumer queue (the 405 refusal came later), and so does Warren.
func (q *Queue) Get(now int64, sess SessionID, noAck bool, fx Effects) (e Entry, remaining uint64, gated, ok bool, err error) {
	q.Touch(now)
	li, e, fromStream, ok := q.takeHead(now, fx)
	if !ok {
		if q.stalled() {
			return Entry{}, 0, false, false, ErrNotReady
		}
		q.counts.GetEmpty++
		return Entry{}, 0, false, false, nil
	}
	gated = e.Stored == Durable && q.markDelivered(e.ID)
	q.countOut(&e, true, noAck)
	if noAck {
		q.settleDetached(li, &e, fromStream, fx)
	} else {
		q.hold(li, e, fromStream, sess, nil)
	}
	return e, uint64(q.ready), gated, true, nil
}

// Settle acks, requeues or rejects a message session sess holds; a message
// the session does not hold is ignored (reported false).
func (q *Queue) Settle(now int64, sess SessionID, id storage.MsgID, kind storage.SettleKind, fx Effects) bool {
	f, ok := q.inflight[id]
	if !ok || f.sess != sess {
		return false
	}
	q.untrack(&f)
	switch kind {
	case storage.Requeue:
		q.requeue(&f)
		q.expireAndDispatch(now, fx)
	case storage.Reject:
		q.reject(&f, fx)
	default:
		q.counts.Ack++
		q.release(&f, fx)
	}
	return true
}

// reject ends an in-flight message rejected without requeue; behind drops
// still waiting, its dead letter waits its turn (it stays unsettled).
func (q *Queue) reject(f *inflight, fx Effects) {
	if q.deferDrop(f.lane, f.e, false, Rejected) {
		return
	}
	q.release(f, fx)
	if q.spec.HasDLX {
		fx.DeadLetter(q, f.e, Rejected)
	}
}

// CloseSession removes the session's consumers and requeues every message
// it holds, flagged redelivered.
func (q *Queue) CloseSession(now int64, sess SessionID, fx Effects) {
	for i := 0; i < len(q.cons.all); {
		if c := q.cons.all[i]; c.Session == sess {
			q.removeConsumer(now, c, fx)
			continue
		}
		i++
	}
	if u := q.perSession[sess]; u != nil && u.n > 0 {
		for id, f := range q.inflight {
			if f.sess == sess {
				delete(q.inflight, id)
				q.requeue(&f)
			}
		}
	}
	delete(q.perSession, sess)
	q.expireAndDispatch(now, fx)
}

// expireAndDispatch runs after messages were requeued: a requeued message
// keeps its expiry, so it may be expired already (RabbitMQ drops those at
// once), then consumers get what their credit allows.
func (q *Queue) expireAndDispatch(now int64, fx Effects) {
	if q.ttl {
		q.expireHeads(now, fx)
	}
	q.dispatch(now, fx)
}
