package queue

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/warrenmq/warren/api/storage"
)

func leadingZeros(v uint64) int { return bits.LeadingZeros64(v) }

// fitsInMem reports whether an entry of cost may be cached: within the
// queue's CacheBytes, and within the node budget unless the queue holds less
// than MinCacheBytes.
func (q *Queue) fitsInMem(cost int64) bool {
	c := q.memCost + cost
	if c > q.cfg.CacheBytes {
		return false
	}
	return c <= q.cfg.MinCacheBytes || q.budget == nil || !q.budget.Over()
}

// storeDurable writes e as a durable record.
func (q *Queue) storeDurable(li uint8, e *Entry, fx Effects) {
	e.Stored = Durable
	if e.Expiry != 0 && !q.storedExpiry {
		q.storedExpiry = true
	}
	fx.Store(q.spec.ID, li, *e)
	q.lanes[li].stored.add(e)
	q.metaDirty = true
}

// enqueue adds e at the tail of its lane: in mem while the lane has nothing
// on disk and the cache has room, else on disk (spilling a transient one).
func (q *Queue) enqueue(li uint8, e Entry, fx Effects) {
	l := &q.lanes[li]
	if q.durable && e.Msg.Persistent {
		q.storeDurable(li, &e, fx)
	}
	if cost := e.cost(); l.diskN() == 0 && q.fitsInMem(cost) {
		l.mem.push(e)
		q.charge(cost)
	} else {
		if e.Stored == NotStored {
			e.Stored = Spill
			fx.Store(q.spec.ID, li, e)
		}
		if l.diskN() == 0 {
			l.diskFrom = e.ID
		}
		l.disk[e.Stored].add(&e)
	}
	l.ready++
	q.ready++
	q.readyBytes += e.Size()
	q.setNonEmpty(li)
}

// head is the next ready entry of the lane, loading from disk if needed;
// nil when the lane has none (or the store failed, or it is blocked).
func (q *Queue) head(li uint8) *Entry {
	l := &q.lanes[li]
	if len(l.requeued) > 0 {
		return l.requeued.peek()
	}
	if q.streamReady(l, li) {
		return l.mem.front()
	}
	return nil
}

// streamReady reports whether mem holds the lane's next ready stream
// record, reading it if needed. Owed records are not ready: mem's front,
// if any, is one of them.
func (q *Queue) streamReady(l *lane, li uint8) bool {
	return l.owed == 0 && (l.mem.len() > 0 || q.read(li))
}

// pop detaches the lane's next ready entry. fromStream says it left the
// stream (it is not in the unsettled set yet); otherwise it was requeued.
// The caller must then hold it (in flight) or settle it.
func (q *Queue) pop(li uint8) (e Entry, fromStream, ok bool) {
	l := &q.lanes[li]
	switch {
	case len(l.requeued) > 0:
		e = l.requeued.pop()
	case q.streamReady(l, li):
		e = l.mem.pop()
		q.charge(-e.cost())
		fromStream = true
	default:
		return Entry{}, false, false
	}
	l.ready--
	q.ready--
	q.readyBytes -= e.Size()
	if l.ready == 0 {
		q.clearNonEmpty(li)
	}
	return e, fromStream, true
}

// read moves the next records of the lane's disk part into mem.
func (q *Queue) read(li uint8) bool {
	l := &q.lanes[li]
	if l.diskN() == 0 || q.err != nil || l.waiting {
		return false
	}
	var kinds StoredMask
	if l.disk[Durable].n > 0 {
		kinds |= maskOf(Durable)
	}
	if l.disk[Spill].n > 0 {
		kinds |= maskOf(Spill)
	}
	got, err := q.store.Load(q.spec.ID, li, l.diskFrom, q.nextID, kinds, q.cfg.LoadCount, q.cfg.LoadBytes, q.loadBuf[:0])
	if err != nil {
		q.loadFailed(l, li, err)
		return false
	}
	if len(got) == 0 {
		q.repairDisk(li)
		return false
	}
	for i := range got {
		q.admitLoaded(l, got[i])
	}
	l.diskFrom = got[len(got)-1].ID + 1
	clear(got) // drop references to the messages, keep the buffer
	q.loadBuf = got[:0]
	return true
}

// loadFailed handles a Load error: ErrNotReady makes the lane wait for
// Resume (the records exist, the counters stay right); anything else stops
// the queue reading from disk for good.
func (q *Queue) loadFailed(l *lane, li uint8, err error) {
	if errors.Is(err, ErrNotReady) {
		l.waiting = true
		return
	}
	q.err = fmt.Errorf("load queue %d lane %d from %d: %w", q.spec.ID, li, l.diskFrom, err)
}

func (q *Queue) admitLoaded(l *lane, e Entry) {
	if e.ID < q.redeliverBelow {
		e.Redelivered = true
	}
	if e.Expiry != 0 {
		q.ttl = true
	}
	if d := &l.disk[e.Stored]; d.n > 0 {
		d.sub(&e)
	} else { // a record the counters missed: count it now
		l.ready++
		q.ready++
		q.readyBytes += e.Size()
		if e.Stored == Durable {
			l.stored.add(&e)
			q.metaDirty = true
		}
	}
	l.mem.push(e)
	q.charge(e.cost())
}

// charge moves the queue's cached bytes, and the node budget with them.
func (q *Queue) charge(delta int64) {
	q.memCost += delta
	if q.budget != nil {
		q.budget.Charge(delta)
	}
}

// repairDisk handles a disk part the store says is empty although counters
// say otherwise (counters from before a crash that lost unsynced deletes):
// the counters yield to the store.
func (q *Queue) repairDisk(li uint8) {
	l := &q.lanes[li]
	for _, k := range []Stored{Durable, Spill} {
		d := l.disk[k]
		l.ready -= d.n
		q.ready -= d.n
		q.readyBytes -= d.bytes
		if k == Durable {
			l.stored.n -= d.n
			l.stored.bytes -= d.bytes
			q.metaDirty = q.durable
		}
		l.disk[k] = span{}
	}
	// The owed records were counted out of ready already.
	l.ready += l.owed
	q.ready += l.owed
	q.forgetOwed(li)
	if l.ready <= 0 && len(l.requeued) == 0 && l.mem.len() == 0 {
		l.ready = 0
		q.clearNonEmpty(li)
	}
}

// forget deletes the record of an entry that left the queue for good.
func (q *Queue) forget(li uint8, e *Entry, fx Effects) {
	switch e.Stored {
	case NotStored:
		return
	case Durable:
		q.lanes[li].stored.sub(e)
		q.metaDirty = true
	}
	fx.Delete(q.spec.ID, li, e.ID, e.Stored)
}

// settleDetached ends a popped entry that is not going in flight.
func (q *Queue) settleDetached(li uint8, e *Entry, fromStream bool, fx Effects) {
	if !fromStream {
		q.lanes[li].unsettled.remove(e.ID)
	}
	q.forget(li, e, fx)
}

// hold records a popped entry as in flight for sess (c nil for basic.get).
func (q *Queue) hold(li uint8, e Entry, fromStream bool, sess SessionID, c *Consumer) {
	if fromStream {
		q.lanes[li].unsettled.add(e.ID)
	}
	q.inflight[e.ID] = inflight{e: e, lane: li, sess: sess, c: c}
	if c != nil {
		c.shared.n++
	} else {
		q.unackedOf(sess).n++
	}
}

// unackedOf is the session's unacked counter, made on first use; consumers
// keep a pointer to it so the hot path needs no map.
func (q *Queue) unackedOf(sess SessionID) *sessionUnacked {
	u := q.perSession[sess]
	if u == nil {
		u = &sessionUnacked{}
		q.perSession[sess] = u
	}
	return u
}

// release ends an in-flight message: acked, rejected or dropped.
func (q *Queue) release(f *inflight, fx Effects) {
	q.lanes[f.lane].unsettled.remove(f.e.ID)
	q.forget(f.lane, &f.e, fx)
}

// requeue puts an in-flight message back at its original position.
func (q *Queue) requeue(f *inflight) {
	l := &q.lanes[f.lane]
	f.e.Redelivered = true
	l.requeued.push(f.e)
	l.ready++
	q.ready++
	q.readyBytes += f.e.Size()
	q.setNonEmpty(f.lane)
}

// untrack removes f from the in-flight table.
func (q *Queue) untrack(f *inflight) {
	delete(q.inflight, f.e.ID)
	if f.c != nil {
		f.c.shared.n--
	} else {
		q.perSession[f.sess].n--
	}
}

// markDelivered moves the persisted delivered mark ahead of id when it gets
// close, and reports whether id's delivery must wait for that to be synced.
func (q *Queue) markDelivered(id storage.MsgID) (gated bool) {
	if id+storage.MsgID(q.cfg.DeliveredChunk/2) >= q.dhw {
		q.dhw = id + storage.MsgID(q.cfg.DeliveredChunk)
		q.metaDirty = true
	}
	return id >= q.dhwSynced
}

// Synced tells the queue that a SaveMeta carrying dhw is durable.
func (q *Queue) Synced(dhw storage.MsgID) {
	q.dhwSynced = max(q.dhwSynced, dhw)
}
