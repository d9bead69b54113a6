package queue

import "github.com/warrenmq/warren/api/storage"

// SetEffective makes the queue run with the limits and dead-letter target
// of eff: its declared spec with a policy applied (topology's
// Queue.EffectiveSpec). The queue's identity (ID, names, durability,
// priorities, single active consumer) is not a policy's to change and
// stays as declared. As RabbitMQ applies a policy change to a live queue:
//
//   - a drop-head length limit drops (dead-letters) the oldest ready
//     messages the new limits leave over;
//   - a message TTL lower than before (or new) also bounds the messages
//     already queued: they expire at most the new TTL after now, since the
//     queue does not know when they were published;
//   - a changed expires restarts the idle period from now;
//   - a new dead-letter target serves the next message dead-lettered.
func (q *Queue) SetEffective(now int64, eff storage.QueueSpec, fx Effects) {
	if q.deleted {
		return
	}
	old := q.spec
	q.spec = withLimits(q.spec, eff)
	if q.spec.Expires != old.Expires {
		q.Touch(now)
	}
	if ttl := q.spec.MessageTTL; ttl >= 0 {
		q.ttl = true
		if old.MessageTTL < 0 || ttl < old.MessageTTL {
			q.capExpiry(now + ttl)
		}
	}
	if q.spec.Overflow == storage.DropHead {
		q.dropHeads(now, fx)
	}
	if q.ttl {
		q.expireHeads(now, fx)
	}
}

// policyState is what SetEffective keeps beside the effective spec.
type policyState struct {
	// caps bound the expiry of messages queued before a TTL applied,
	// ascending in both fields (capExpiry).
	caps []expiryCap
}

// withLimits is spec with the policy-settable fields of eff: every one is
// replaced, so the queue's current spec serves as well as its declared one.
func withLimits(spec, eff storage.QueueSpec) storage.QueueSpec {
	s := spec
	s.MessageTTL, s.Expires = eff.MessageTTL, eff.Expires
	s.MaxLength, s.MaxLengthBytes, s.Overflow = eff.MaxLength, eff.MaxLengthBytes, eff.Overflow
	s.HasDLX, s.DeadLetterExchange = eff.HasDLX, eff.DeadLetterExchange
	s.HasDLRoutingKey, s.DeadLetterRoutingKey = eff.HasDLRoutingKey, eff.DeadLetterRoutingKey
	return s
}

// expiryCap bounds the expiry of the messages with an ID below below: a
// TTL that came into force when they were queued already.
type expiryCap struct {
	below storage.MsgID
	at    int64
}

// maxExpiryCaps bounds policyState.caps. Past it the oldest cap goes, and the
// oldest messages expire at the next cap's time: later, never earlier,
// than their TTL says.
const maxExpiryCaps = 8

// capExpiry makes every message queued so far expire at at or before.
// The caps stay ascending in both below and at: a cap that expires no
// earlier than the new one is covered by it (the new one reaches every
// lower ID) and goes.
func (q *Queue) capExpiry(at int64) {
	at = max(at, 1)
	caps := q.pol.caps
	for len(caps) > 0 && caps[len(caps)-1].at >= at {
		caps = caps[:len(caps)-1]
	}
	if len(caps) == maxExpiryCaps {
		caps = append(caps[:0], caps[1:]...)
	}
	q.pol.caps = append(caps, expiryCap{below: q.nextID, at: at})
}

// expiryOfEntry is when e expires, 0 for never: its own expiry or, if
// earlier, that of the first cap over its ID (the tightest, as caps are
// ascending).
func (q *Queue) expiryOfEntry(e *Entry) int64 {
	x := e.Expiry
	for _, c := range q.pol.caps {
		if e.ID < c.below {
			if x == 0 || c.at < x {
				x = c.at
			}
			break
		}
	}
	return x
}
