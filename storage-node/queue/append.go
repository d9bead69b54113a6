package queue

import "github.com/warrenmq/warren/api/storage"

// Append takes one published message at time now (unix ms). It reports
// rejected when an x-overflow reject-publish limit refused it: then nothing
// is stored (with reject-publish-dlx it is dead-lettered, reason maxlen).
// The Message is retained and must not be modified afterwards.
//
// As in RabbitMQ (rabbit_amqqueue_process:maybe_deliver_or_enqueue), the
// reject check comes first; a message reaching an empty queue with a
// consumer that has credit is delivered at once, without an expiry check;
// otherwise it is enqueued, then drop-head trims the queue to its limits and
// expired heads are removed.
func (q *Queue) Append(now int64, m *storage.Message, fx Effects) (rejected bool) {
	if q.spec.Overflow != storage.DropHead && q.wouldOverflow(int64(len(m.Body))) {
		if q.spec.Overflow == storage.RejectPublishDLX && q.spec.HasDLX {
			e := Entry{Msg: m}
			fx.DeadLetter(q, e, Maxlen)
		}
		return true
	}
	q.counts.Publish++
	e := Entry{ID: q.nextID, Msg: m, Expiry: q.expiryOf(now, m)}
	q.nextID++
	q.metaDirty = q.metaDirty || q.durable
	li := laneOf(m.Priority, q.spec.MaxPriority)
	if q.ready == 0 {
		if c := q.cons.pick(); c != nil {
			q.deliverFresh(li, c, e, fx)
			return false
		}
	}
	if q.spec.MessageTTL == 0 && !q.spec.HasDLX {
		return false // would expire before anyone could take it
	}
	q.enqueue(li, e, fx)
	if q.spec.Overflow == storage.DropHead {
		q.dropHeads(now, fx)
	}
	if e.Expiry != 0 && now >= e.Expiry {
		q.expireHeads(now, fx)
	}
	return false
}

// expiryOf is the absolute expiry of a message published at now: the
// smaller of the queue's x-message-ttl and the message's own TTL.
func (q *Queue) expiryOf(now int64, m *storage.Message) int64 {
	ttl := q.spec.MessageTTL
	if m.TTL >= 0 && (ttl < 0 || m.TTL < ttl) {
		ttl = m.TTL
	}
	if ttl < 0 {
		return 0
	}
	q.ttl = true
	return max(now+ttl, 1)
}

// wouldOverflow: one more ready message of size would pass a limit.
func (q *Queue) wouldOverflow(size int64) bool {
	s := &q.spec
	return (s.MaxLength >= 0 && q.ready+1 > s.MaxLength) ||
		(s.MaxLengthBytes >= 0 && q.readyBytes+size > s.MaxLengthBytes)
}

// overLimit: the ready messages pass a limit.
func (q *Queue) overLimit() bool {
	s := &q.spec
	return (s.MaxLength >= 0 && q.ready > s.MaxLength) ||
		(s.MaxLengthBytes >= 0 && q.readyBytes > s.MaxLengthBytes)
}

// dropHeads removes heads while over a limit (x-overflow drop-head),
// dead-lettering them with reason maxlen. A head not readable yet is
// owed (owed.go). The drop stops, and Resume goes on with it, when owing
// cannot be exact: after an expiry sweep that stopped (its dead letters
// come first, and how many is unknown until it is done), and on a byte
// limit.
func (q *Queue) dropHeads(now int64, fx Effects) {
	for q.overLimit() {
		if q.expireStop != 0 || q.dropStopped {
			q.dropStopped = true
			return
		}
		li := q.topLane()
		if li < 0 {
			return
		}
		e, fromStream, ok := q.pop(uint8(li))
		if !ok {
			if !q.owe(uint8(li)) {
				return
			}
			continue
		}
		q.drop(uint8(li), e, fromStream, Maxlen, fx)
	}
}

// drop removes a popped entry for good, dead-lettering it if the queue has
// a dead-letter exchange; behind drops still waiting, it waits its turn.
func (q *Queue) drop(li uint8, e Entry, fromStream bool, reason Reason, fx Effects) {
	if q.deferDrop(li, e, fromStream, reason) {
		return
	}
	q.settleDetached(li, &e, fromStream, fx)
	if q.spec.HasDLX {
		fx.DeadLetter(q, e, reason)
	}
}

// deliverFresh hands a just-published message straight to a consumer.
func (q *Queue) deliverFresh(li uint8, c *Consumer, e Entry, fx Effects) {
	if !c.NoAck && q.durable && e.Msg.Persistent {
		q.storeDurable(li, &e, fx)
	}
	q.deliver(li, c, e, true, fx)
}
