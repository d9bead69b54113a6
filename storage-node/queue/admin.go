package queue

import "github.com/warrenmq/warren/api/storage"

// Purge removes every ready message (not the in-flight ones) and returns
// how many. Purged messages are not dead-lettered, as in RabbitMQ. Owed
// drops (owed.go) go with their lanes' records, unread, so their dead
// letters are lost; the dead letters queued behind them go out now.
func (q *Queue) Purge(fx Effects) uint64 {
	n := uint64(q.ready)
	for li := range q.lanes {
		q.purgeLane(uint8(li), fx)
	}
	q.ready, q.readyBytes = 0, 0
	q.nonEmpty = [4]uint64{}
	q.expireStop, q.dropStopped = 0, false
	q.payDrops(fx) // the cold ones went with their lanes
	return n
}

func (q *Queue) purgeLane(li uint8, fx Effects) {
	l := &q.lanes[li]
	for len(l.requeued) > 0 {
		e := l.requeued.pop()
		q.settleDetached(li, &e, false, fx)
	}
	for l.mem.len() > 0 {
		e := l.mem.pop()
		q.charge(-e.cost())
		q.forget(li, &e, fx)
	}
	if l.diskN() > 0 {
		// Everything at or above diskFrom is in the disk part: in-flight
		// and requeued messages have lower IDs.
		fx.DeleteRange(q.spec.ID, li, l.diskFrom, q.nextID)
		l.stored.n -= l.disk[Durable].n
		l.stored.bytes -= l.disk[Durable].bytes
		l.disk = [3]span{}
		q.metaDirty = q.durable
	}
	l.mem.clear()
	l.ready = 0
	q.forgetOwed(li)
	// Nothing is left to wait for, and the store drops the answer for the
	// purged records, so no Resume may come.
	l.waiting = false
}

// Delete ends the queue: its consumers are cancelled, its records and
// metadata deleted. It returns the number of ready messages it held. The
// queue must not be used afterwards; settlements of its in-flight messages
// are simply lost with it. Dead letters queued behind owed drops go out
// first; those of the owed drops are lost, as in Purge.
func (q *Queue) Delete(fx Effects) uint64 {
	n := uint64(q.ready)
	for li := range q.lanes {
		q.forgetOwed(uint8(li))
	}
	q.payDrops(fx) // what left before the delete is still dead-lettered
	for _, c := range q.cons.all {
		fx.Cancelled(c)
	}
	fx.DeleteQueue(q.spec.ID)
	q.charge(-q.memCost)
	*q = Queue{spec: q.spec, cfg: q.cfg, deleted: true}
	return n
}

// Touch records a use (redeclare, basic.get) for x-expires.
func (q *Queue) Touch(now int64) {
	q.lastUsed = now
	q.unusedSent = false
}

// Tick runs the timers due at now: expired heads are removed (and
// dead-lettered), and an x-expires queue unused for its period is reported.
func (q *Queue) Tick(now int64, fx Effects) {
	if q.deleted {
		return
	}
	if q.ttl {
		q.expireHeads(now, fx)
	}
	if d := q.expiresAt(); d != 0 && now >= d {
		q.unusedSent = true
		fx.Unused(q.spec.ID, "expired")
	}
}

// expireHeads removes the expired heads of every lane. Messages expire only
// at the head of their lane, as in RabbitMQ's classic queues.
func (q *Queue) expireHeads(now int64, fx Effects) {
	q.expireFrom(0, now, fx)
}

// expireFrom sweeps the lanes from first up. The sweep stops at a waiting
// head and Resume goes on from there, so the dead letters keep the order of
// a run that never waited.
func (q *Queue) expireFrom(first int, now int64, fx Effects) {
	for li := first; li < len(q.lanes); li++ {
		if !q.expireLane(uint8(li), now, fx) {
			if q.expireStop == 0 || li+1 < q.expireStop {
				q.expireStop = li + 1
			}
			return
		}
	}
}

// expireLane removes the lane's expired heads; false when it stopped at a
// waiting head.
func (q *Queue) expireLane(li uint8, now int64, fx Effects) bool {
	l := &q.lanes[li]
	for l.ready > 0 {
		h := q.head(li)
		if h == nil {
			return !l.blocked()
		}
		if x := q.expiryOfEntry(h); x == 0 || now < x {
			return true
		}
		e, fromStream, _ := q.pop(li)
		q.drop(li, e, fromStream, Expired, fx)
	}
	return true
}

// expiresAt is when an x-expires queue becomes unused, or 0.
func (q *Queue) expiresAt() int64 {
	if q.spec.Expires < 0 || q.cons.len() > 0 || q.unusedSent {
		return 0
	}
	return q.lastUsed + q.spec.Expires
}

// Deadline is the earliest time Tick has work to do, or 0 for never. A
// head that is only on disk makes it 1 (now): Tick will read it.
func (q *Queue) Deadline() int64 {
	if q.deleted {
		return 0
	}
	d := q.expiresAt()
	if !q.ttl {
		return d
	}
	for li := range q.lanes {
		if t := q.headExpiry(uint8(li)); t != 0 && (d == 0 || t < d) {
			d = t
		}
	}
	return d
}

// headExpiry is the expiry of the lane's head without reading the disk.
func (q *Queue) headExpiry(li uint8) int64 {
	l := &q.lanes[li]
	switch {
	case l.ready == 0:
		return 0
	case len(l.requeued) > 0:
		return q.expiryOfEntry(l.requeued.peek())
	case l.mem.len() > 0 && l.owed == 0:
		return q.expiryOfEntry(l.mem.front())
	case q.err != nil || l.blocked():
		return 0 // the head cannot be read yet; do not spin on it
	}
	return 1
}

// Flush hands the queue's Meta to fx.SaveMeta if a durable queue changed
// anything persisted since the last Flush.
func (q *Queue) Flush(fx Effects) {
	if !q.durable || !q.metaDirty || q.deleted {
		return
	}
	q.metaDirty = false
	q.meta.NextID, q.meta.DHW, q.meta.Expiries = q.nextID, q.dhw, q.storedExpiry
	q.meta.Lanes = q.meta.Lanes[:0]
	for li := range q.lanes {
		l := &q.lanes[li]
		if l.stored.n <= 0 {
			continue
		}
		q.meta.Lanes = append(q.meta.Lanes, LaneMeta{
			Lane: uint8(li), Floor: q.floor(l), Count: l.stored.n, Bytes: l.stored.bytes,
		})
	}
	fx.SaveMeta(q.spec.ID, &q.meta)
}

// floor is at or below every live ID of the lane: the lowest unsettled ID
// or the front of its stream.
func (q *Queue) floor(l *lane) storage.MsgID {
	f := q.nextID
	switch {
	case l.mem.len() > 0:
		f = l.mem.front().ID
	case l.diskN() > 0:
		f = l.diskFrom
	}
	if u, ok := l.unsettled.min(); ok && u < f {
		f = u
	}
	return f
}
