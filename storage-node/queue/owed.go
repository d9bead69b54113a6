package queue

// Drop-head on a head that is not readable yet (a cold, tiered record).
//
// A run that never waits drops the head at once, and every later command
// sees the queue without it. To drop the same messages, the queue counts
// the head out of the ready messages at once without knowing it: the lane
// owes it (lane.owed), and the drop is queued (Queue.drops). The owed
// records stay in the lane's disk part and in the store (so a crash
// brings them back, never loses them) until Resume reads them and carries
// the drop out. Only the count is known, so a byte limit, or an expiry
// sweep stopped at a waiting head (whose result the count depends on),
// falls back to stopping the drop until Resume (dropStopped), which then
// drops the heads as they are at Resume: not exact.
//
// While a drop is queued, every later message that leaves the queue with a
// dead letter (dropped, expired, rejected) queues behind it, held in the
// lane's unsettled set, so the dead letters keep the order of a run that
// never waited and each record is deleted in the batch of its dead letter.
// Up to maxHeldDrops: past that, they go out at once, ahead of the owed
// ones, so a deep drop (a policy lowering the limit) does not hold its
// hot messages in memory until a fetch lands.

// maxHeldDrops bounds the drops queued behind an owed one (each holds its
// message in memory); a run of owed drops of one lane counts once.
const maxHeldDrops = 4096

// pendingDrop is a drop waiting its turn. cold: the next n owed stream
// records of lane li, not read yet (e is empty); otherwise e left the
// queue behind an owed drop and is in its lane's unsettled set.
type pendingDrop struct {
	e      Entry
	reason Reason
	n      int64
	li     uint8
	cold   bool
}

// blocked: the lane's next stream record cannot be taken now, because the
// store answered ErrNotReady or the records before it are owed.
func (l *lane) blocked() bool { return l.waiting || l.owed > 0 }

// owe drops the head of lane li, which is blocked, by count: the lane
// owes its next stream record. It reports false, and leaves the drop to
// Resume, when the count alone cannot say what a run that never waited
// would drop.
func (q *Queue) owe(li uint8) bool {
	l := &q.lanes[li]
	if q.err != nil || !l.blocked() {
		return false // a store error, or repairDisk changed the counters
	}
	if q.spec.MaxLengthBytes >= 0 {
		q.dropStopped = true
		return false
	}
	l.owed++
	l.ready--
	q.ready--
	if l.ready == 0 {
		q.clearNonEmpty(li)
	}
	// The bytes leave readyBytes when the record is read (payDrops).
	if k := len(q.drops) - 1; k >= 0 && q.drops[k].cold && q.drops[k].li == li {
		q.drops[k].n++
	} else {
		q.drops = append(q.drops, pendingDrop{li: li, reason: Maxlen, n: 1, cold: true})
	}
	return true
}

// deferDrop queues a message leaving the queue with a dead letter behind
// the drops that wait, and reports whether it did. fromStream has pop's
// meaning: such an entry joins the unsettled set, so the floor keeps its
// record until payDrops deletes it.
func (q *Queue) deferDrop(li uint8, e Entry, fromStream bool, reason Reason) bool {
	if len(q.drops) == 0 || len(q.drops) >= maxHeldDrops || !q.spec.HasDLX {
		return false
	}
	if fromStream {
		q.lanes[li].unsettled.add(e.ID)
	}
	q.drops = append(q.drops, pendingDrop{e: e, reason: reason, li: li})
	return true
}

// payDrops carries out the queued drops in order, reading the owed
// records; it stops at one that is still not readable (its lane waits
// again) or when the store failed.
func (q *Queue) payDrops(fx Effects) {
	for len(q.drops) > 0 {
		d := &q.drops[0]
		e := d.e
		if d.cold {
			l := &q.lanes[d.li]
			if l.mem.len() == 0 && !q.read(d.li) {
				if q.err != nil || l.owed > 0 {
					return
				}
				continue // repairDisk found the records gone, and took d off
			}
			e = q.takeOwed(d.li)
		}
		li, reason, cold := d.li, d.reason, d.cold
		if d.n--; d.n <= 0 {
			q.drops[0] = pendingDrop{}
			q.drops = q.drops[1:]
		}
		q.settleDetached(li, &e, cold, fx)
		if q.spec.HasDLX {
			fx.DeadLetter(q, e, reason)
		}
	}
	q.drops = nil
}

// takeOwed detaches the lane's next stream record, which mem holds and
// which the ready counters already left out.
func (q *Queue) takeOwed(li uint8) Entry {
	l := &q.lanes[li]
	e := l.mem.pop()
	q.charge(-e.cost())
	q.readyBytes -= e.Size()
	l.owed--
	return e
}

// forgetOwed takes the cold drops of lane li off the queue: their records
// are gone (purged, or lost in a crash).
func (q *Queue) forgetOwed(li uint8) {
	l := &q.lanes[li]
	if l.owed == 0 {
		return
	}
	l.owed = 0
	kept := q.drops[:0]
	for _, d := range q.drops {
		if !d.cold || d.li != li {
			kept = append(kept, d)
		}
	}
	clear(q.drops[len(kept):])
	q.drops = kept
}
