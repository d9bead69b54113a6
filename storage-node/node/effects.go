package node

import (
	"github.com/cockroachdb/pebble/v2"

	"time"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/deadletter"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
)

// effects carries out what the queues of a shard ask for: writes go into
// the shard's batch, deliveries are staged into sessions, events queued.
// Used only on the shard's goroutine.
type effects struct{ s *shard }

var _ queue.Effects = (*effects)(nil)

func (f *effects) Store(q storage.QueueID, lane uint8, e queue.Entry) {
	f.s.batch.PutMessage(q, lane, &e)
	if e.Stored == queue.Durable {
		f.s.curSync = true
	} else {
		f.s.n.m.spilled.Add(1)
	}
}

// Delete removes a record; a record that lives in a segment gets a cold
// ack instead (TIERING.md §3).
func (f *effects) Delete(q storage.QueueID, lane uint8, id storage.MsgID, kind queue.Stored) {
	if tq := f.s.tierOf(q); tq != nil && tq.Delete(lane, kind, id) {
		f.s.batch.PutColdAck(q, lane, kind, id)
		return
	}
	f.s.batch.DeleteMessage(q, lane, id, kind)
}

// DeleteRange removes the lane's records in [from, to); the parts of
// segments that a purge starting inside them removed get range cold acks
// (their IDs are unknown without reading the objects).
func (f *effects) DeleteRange(q storage.QueueID, lane uint8, from, to storage.MsgID) {
	f.s.batch.DeleteLaneRange(q, lane, from, to)
	tq := f.s.tierOf(q)
	if tq == nil {
		return
	}
	for _, r := range tq.DeleteRange(lane, from, to, nil) {
		f.s.batch.PutColdAckRange(q, lane, r.Seg.Kind, r.From, r.To)
	}
}

// DeleteQueue removes the queue's keys; each of its segments gets a
// delete intent in the same synced batch, and goes to the deleter after
// the fsync.
func (f *effects) DeleteQueue(q storage.QueueID) {
	if tq := f.s.tierOf(q); tq != nil {
		for _, sg := range tq.Drop(nil) {
			f.s.deleteObject(sg.ObjectKey(f.s.n.tier.nid))
		}
	}
	f.s.batch.DeleteQueue(q)
	f.s.syncWanted = true
}

func (f *effects) SaveMeta(q storage.QueueID, m *queue.Meta) {
	f.s.batch.PutMeta(q, m)
	f.s.dhw = append(f.s.dhw, dhwAck{q: q, dhw: m.DHW})
}

// DeadLetter rewrites the message with its x-death headers and writes it
// to the shard's outbox range in the same batch that removes it from its
// queue; the outbox worker routes it later.
func (f *effects) DeadLetter(q *queue.Queue, e queue.Entry, reason queue.Reason) {
	s := f.s
	if s.n.opts.DeadLetterer == nil {
		return
	}
	dl, err := deadletter.Rewrite(q.Spec(), e.Msg, string(reason), time.UnixMilli(s.now))
	if err != nil {
		s.n.opts.Logger.Warn("dead letter keeps its properties", "queue", q.Spec().Name, "err", err)
	}
	s.batch.PutOutbox(uint8(s.idx), &pebblestore.OutboxEntry{
		Seq: s.outboxSeq, Durable: e.Stored == queue.Durable, Boot: s.n.boot, DL: dl,
	})
	s.outboxSeq++
	s.wroteDL = true
	s.n.m.deadLettered.Add(1)
}

func (f *effects) Deliver(c *queue.Consumer, e queue.Entry, gated bool) {
	o := c.Owner.(*owner)
	f.s.stage(o.sess, item{
		d:    storage.Delivery{Tag: c.Tag, Queue: o.queue, ID: e.ID, Redelivered: e.Redelivered, Msg: e.Msg},
		auto: o.auto,
	})
	if gated {
		f.s.gated = true
	}
	f.s.cnt.delivered++
}

func (f *effects) Cancelled(c *queue.Consumer) {
	o := c.Owner.(*owner)
	spec := f.s.queues[o.queue]
	var reason error = reply.Errorf(reply.NotFound, "queue deleted")
	if spec != nil {
		s := spec.q.Spec()
		reason = reply.Errorf(reply.NotFound, "queue '%s' in vhost '%s' deleted", s.Name, s.VHost)
	}
	f.s.stage(o.sess, item{d: storage.Delivery{Tag: c.Tag, Queue: o.queue}, cancel: true, reason: reason})
}

func (f *effects) Unused(q storage.QueueID, reason string) {
	f.s.n.events.push(q, reason)
}

// stage queues an item for a session, delivered at the end of the
// iteration.
func (s *shard) stage(sess *session, it item) {
	if len(sess.staged[s.idx]) == 0 {
		s.staged = append(s.staged, sess)
	}
	sess.staged[s.idx] = append(sess.staged[s.idx], it)
}

// loader is the shard's queue.Store: before reading, it commits the
// pending batch (NoSync) so the read sees every write handed out so far,
// flushing the touched queues' metadata into it first so each committed
// batch stays consistent with its counters.
type loader struct{ s *shard }

func (l *loader) Load(q storage.QueueID, lane uint8, from, to storage.MsgID, kinds queue.StoredMask,
	maxCount int, maxBytes int64, dst []queue.Entry) ([]queue.Entry, error) {
	s := l.s
	if err := s.applyPending(); err != nil {
		return dst, err
	}
	s.n.m.loads.Add(1)
	return s.n.db.Load(q, lane, from, to, kinds, maxCount, maxBytes, dst)
}

// applyPending commits the pending batch (NoSync) so a read sees every
// write handed out so far, flushing the touched queues' metadata into it
// first so each committed batch stays consistent with its counters.
func (s *shard) applyPending() error {
	if s.batch.Empty() {
		return nil
	}
	for _, qs := range s.touched {
		s.flushQueue(qs)
	}
	// NoSync: an fsync here would block the shard; when the iteration
	// needs one, commit syncs the WAL, these records included.
	if err := s.n.db.Pebble().Apply(s.batch.Pebble(), pebble.NoSync); err != nil {
		s.n.fail(err)
		return err
	}
	s.batch.Pebble().Reset()
	return nil
}

// dhwAck is a queue's delivered mark in a batch being synced.
type dhwAck struct {
	q   storage.QueueID
	dhw storage.MsgID
}
