package node

import (
	"errors"
	"slices"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// A basic.get whose queue cannot read its next message yet
// (queue.ErrNotReady: a tiered segment being fetched) is parked in the
// queue's qstate with its reply channel, and re-applied when a worker
// posts that the queue may read again (postResume), before any delivery
// to consumers. Its caller stays blocked in session.Get until then, or
// until its context ends.

// applyGet runs a basic.get, parking it when the queue is not ready.
func (s *shard) applyGet(c cmd) {
	qs := s.queues[c.q]
	if qs == nil {
		s.reply(c, result{err: s.n.notFound(c.q)})
		return
	}
	s.touch(qs)
	if err := c.gone(); err != nil {
		s.reply(c, result{err: err})
		return
	}
	r := s.get(qs.q, c)
	if errors.Is(r.err, queue.ErrNotReady) {
		s.park(qs, c)
		return
	}
	s.reply(c, r)
}

func (s *shard) get(q *queue.Queue, c cmd) result {
	e, remaining, gated, ok, err := q.Get(s.now, c.sess.id, c.a, &s.fx)
	if err != nil || !ok {
		return result{err: err}
	}
	if gated {
		s.gated = true
		s.syncWanted = true
	}
	return result{ok: true, n: remaining, d: storage.Delivery{
		Queue: q.ID(), ID: e.ID, Redelivered: e.Redelivered, Msg: e.Msg,
	}}
}

// gone is why a get's caller no longer wants its answer: its context
// ended or its session closed. A get applied then would take a message
// nobody receives (lost for no-ack, or held by a closed session).
func (c *cmd) gone() error {
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return err
		}
	}
	if c.sess.isClosed() {
		return ErrClosed
	}
	return nil
}

// park holds c until the queue resumes. It first answers the parked gets
// whose callers are gone, so during a long store outage the list holds at
// most one get per caller still waiting, however many time out.
func (s *shard) park(qs *qstate, c cmd) {
	s.pruneParked(qs)
	qs.parked = append(qs.parked, c)
}

// pruneParked answers, and drops, the parked gets whose callers are gone.
func (s *shard) pruneParked(qs *qstate) {
	qs.parked = slices.DeleteFunc(qs.parked, func(c cmd) bool {
		err := c.gone()
		if err != nil {
			s.reply(c, result{err: err})
		}
		return err != nil
	})
}

// serveParked re-applies the parked gets in arrival order. It stops at the
// first the queue still cannot serve: the ones behind it came later.
func (s *shard) serveParked(qs *qstate) {
	for len(qs.parked) > 0 {
		c := qs.parked[0]
		if err := c.gone(); err != nil {
			s.reply(c, result{err: err})
		} else if r := s.get(qs.q, c); errors.Is(r.err, queue.ErrNotReady) {
			return
		} else {
			s.reply(c, r)
		}
		qs.parked[0] = cmd{}
		qs.parked = qs.parked[1:]
	}
	qs.parked = nil
}

// unparkAll answers every parked get with err (the queue is gone).
func (s *shard) unparkAll(qs *qstate, err error) {
	for _, c := range qs.parked {
		s.reply(c, result{err: err})
	}
	qs.parked = nil
}

// resume lets the queue read what it waits for: queue.Resume, which
// re-applies the parked gets before it delivers to consumers (they came
// before any credit granted since).
func (s *shard) resume(qs *qstate) {
	s.touch(qs)
	qs.q.Resume(s.now, &s.fx, func() { s.serveParked(qs) })
}

// postResume tells the shard that owns q, from any goroutine, that reads
// q waits for may succeed now (a fetch landed). It goes through post,
// never the inbox: the inbox is bounded, and a worker blocked on it would
// hold up the shards whose reads it serves. A queue deleted meanwhile is
// skipped.
func (n *Node) postResume(q storage.QueueID) {
	n.shardOf(q).post(func(s *shard) {
		if qs := s.queues[q]; qs != nil {
			s.resume(qs)
		}
	})
}
