package node

import (
	"context"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// CreateQueue makes the queue's storage. A durable (non-exclusive) queue's
// spec is fsynced before it returns, so it survives a crash. Creating an
// existing ID with the same spec is a no-op; with another spec it is a
// 406, and the queue is left as it was.
func (n *Node) CreateQueue(ctx context.Context, spec storage.QueueSpec) error {
	_, err := n.call(ctx, n.shardOf(spec.ID), cmd{kind: cmdCreate, q: spec.ID, spec: &spec})
	return err
}

// DeleteQueue removes a queue, its messages and its consumers
// (Sink.Cancelled); the deletion is fsynced before it returns. ifUnused
// and ifEmpty refuse with 406 and leave the queue intact. Deleting a queue
// the node does not have returns 0 and no error, as queue.delete is
// idempotent in RabbitMQ.
func (n *Node) DeleteQueue(ctx context.Context, id storage.QueueID, ifUnused, ifEmpty bool) (uint64, error) {
	r, err := n.call(ctx, n.shardOf(id), cmd{kind: cmdDelete, q: id, a: ifUnused, b: ifEmpty})
	return r.n, err
}

// PurgeQueue removes the ready messages (not the unacked) and returns how
// many; the purge is fsynced before it returns. A missing queue is a 404.
func (n *Node) PurgeQueue(ctx context.Context, id storage.QueueID) (uint64, error) {
	r, err := n.call(ctx, n.shardOf(id), cmd{kind: cmdPurge, q: id})
	return r.n, err
}

// Stats reports a queue's counters; a missing queue is a 404.
func (n *Node) Stats(ctx context.Context, id storage.QueueID) (storage.QueueStats, error) {
	r, err := n.call(ctx, n.shardOf(id), cmd{kind: cmdStats, q: id})
	return r.stats, err
}

// Touch records a use of the queue (redeclare) for x-expires; a missing
// queue is a 404.
func (n *Node) Touch(ctx context.Context, id storage.QueueID) error {
	_, err := n.call(ctx, n.shardOf(id), cmd{kind: cmdTouch, q: id})
	return err
}

// apply runs one command; it reports false for the stop command.
func (s *shard) apply(c cmd) bool {
	switch c.kind {
	case cmdAppend:
		s.applyAppend(c.part)
	case cmdSettle:
		s.applySettle(c)
	case cmdGrant:
		if qs := s.queues[c.q]; qs != nil {
			s.touch(qs)
			qs.q.Grant(s.now, c.sess.id, c.tag, c.n, &s.fx)
		}
	case cmdGet:
		s.applyGet(c)
	case cmdCloseSession:
		s.reply(c, s.closeSession(c))
	case cmdFunc:
		c.fn(s)
		s.reply(c, result{})
	case cmdStop:
		s.shutdown(c.resp)
		return false
	default:
		s.reply(c, s.applyQueued(c))
	}
	return true
}

// reply answers c at the end of the iteration: after the commit, or after
// the fsync when the iteration needs one.
func (s *shard) reply(c cmd, r result) {
	if c.resp == nil {
		return
	}
	pr := pendingReply{ch: c.resp, r: r}
	if s.syncWanted {
		s.syncReply = append(s.syncReply, pr)
	} else {
		s.replies = append(s.replies, pr)
	}
}

// applyQueued runs a command that addresses one queue and has a reply.
func (s *shard) applyQueued(c cmd) result {
	if c.kind == cmdCreate {
		return s.create(c.spec)
	}
	qs := s.queues[c.q]
	if qs == nil {
		if c.kind == cmdDelete {
			return result{}
		}
		return result{err: s.n.notFound(c.q)}
	}
	s.touch(qs)
	q := qs.q
	switch c.kind {
	case cmdStats:
		return result{stats: s.stats(qs)}
	case cmdTouch:
		q.Touch(s.now)
	case cmdPurge:
		s.syncWanted = true
		n := q.Purge(&s.fx)
		s.serveParked(qs) // nothing is left to wait for
		return result{n: n}
	case cmdDelete:
		return s.deleteQueue(qs, c.a, c.b)
	case cmdConsume:
		return result{err: q.Consume(s.now, c.cons, &s.fx)}
	case cmdCancel:
		q.Cancel(s.now, c.sess.id, c.tag, &s.fx)
	case cmdSetEffective:
		q.SetEffective(s.now, *c.spec, &s.fx)
	}
	return result{}
}

func (s *shard) create(spec *storage.QueueSpec) result {
	if qs := s.queues[spec.ID]; qs != nil {
		// The registry holds the declared spec: a policy changes only the
		// queue's effective one.
		if declared, _ := s.n.reg.declared(spec.ID); declared != *spec {
			return result{err: reply.Errorf(reply.PreconditionFailed,
				"queue '%s' in vhost '%s' exists on this storage node with a different spec", spec.Name, spec.VHost)}
		}
		return result{}
	}
	q := queue.New(*spec, s.n.opts.queueConfig(), s.loader(), s, s.now)
	s.adopt(q)
	s.n.reg.add(spec)
	if spec.Durable && !spec.Exclusive {
		s.batch.PutSpec(spec)
		s.syncWanted = true
	}
	return result{}
}

// deleteQueue checks if-unused/if-empty with RabbitMQ's texts, then
// deletes.
func (s *shard) deleteQueue(qs *qstate, ifUnused, ifEmpty bool) result {
	q := qs.q
	st := q.Stats()
	spec := q.Spec()
	if ifUnused && st.Consumers > 0 {
		return result{err: reply.Errorf(reply.PreconditionFailed, "queue '%s' in vhost '%s' in use", spec.Name, spec.VHost)}
	}
	if ifEmpty && st.Ready > 0 {
		return result{err: reply.Errorf(reply.PreconditionFailed, "queue '%s' in vhost '%s' not empty", spec.Name, spec.VHost)}
	}
	n := q.Delete(&s.fx)
	delete(s.queues, spec.ID)
	s.n.reg.remove(spec.ID)
	s.unparkAll(qs, s.n.notFound(spec.ID))
	s.forget(qs)
	return result{n: n}
}

func (s *shard) applySettle(c cmd) {
	for _, op := range c.ops {
		if s.n.shardOf(op.Queue) != s {
			continue
		}
		qs := s.queues[op.Queue]
		if qs == nil {
			continue
		}
		s.touch(qs)
		if qs.q.Settle(s.now, c.sess.id, op.ID, op.Kind, &s.fx) {
			s.cnt.settled[op.Kind]++
		}
	}
}

// closeSession removes the session's consumers from, and requeues its
// messages to, each of the listed queues this shard owns.
func (s *shard) closeSession(c cmd) result {
	for _, id := range c.qs {
		if qs := s.queues[id]; qs != nil {
			s.touch(qs)
			qs.q.CloseSession(s.now, c.sess.id, &s.fx)
			s.pruneParked(qs) // the session's parked gets answer ErrClosed now
		}
	}
	return result{}
}

// shutdown flushes every queue's metadata, syncs, waits for the committer
// to finish, and answers the stop command.
func (s *shard) shutdown(r chan result) {
	s.begin()
	for _, qs := range s.queues {
		s.touch(qs)
	}
	s.syncWanted = true
	s.end()
	stopped := make(chan struct{})
	s.com.push(&job{stopped: stopped})
	<-stopped
	if s.timer != nil {
		s.timer.Stop()
	}
	r <- result{err: s.n.failure()}
}
