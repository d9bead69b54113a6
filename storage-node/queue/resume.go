package queue

import "errors"

// ErrNotReady is a Store.Load answer: the lane's next records exist but
// cannot be read yet (a tiered segment still being fetched). The lane then
// waits, with no error and its counters unchanged, until the caller calls
// Resume. Get answers it too.
var ErrNotReady = errors.New("queue: records not readable yet")

// Resume tells the queue that the reads its lanes wait for may succeed now.
// It clears every waiting lane, then makes what the waiting stopped, in the
// order a run that never waited makes it, only later: the drops of owed
// heads and the dead letters queued behind them (owed.go), the sweep of
// expiry checks that stopped at a waiting head, a drop-head that stopped,
// then gets, then deliveries to consumers. gets is the caller re-applying,
// through Get, the basic.gets that Get answered ErrNotReady, in arrival
// order (nil when it holds none): they came before any credit granted
// since. A Load may answer ErrNotReady again, and its lane waits again.
// Only what stopped is redone (a head that expired meanwhile waits for its
// timer, as it would have), so a Resume with nothing waiting, such as a
// read-ahead landing, changes nothing.
//
// Drop-head is exact when it could owe the heads. Not exact: a drop-head
// that stopped (a byte limit, or an expiry sweep waiting before it) takes
// the heads of the lanes as they are at Resume, so appends and requeues
// made while it waited can change which messages it drops.
func (q *Queue) Resume(now int64, fx Effects, gets func()) {
	if q.deleted {
		return
	}
	for li := range q.lanes {
		q.lanes[li].waiting = false
	}
	q.payDrops(fx)
	if first := q.expireStop - 1; first >= 0 {
		q.expireStop = 0
		q.expireFrom(first, now, fx)
	}
	if q.dropStopped {
		q.dropStopped = false
		q.dropHeads(now, fx) // stops again while a sweep waits
	}
	if gets != nil {
		gets()
	}
	q.dispatch(now, fx) // a no-op unless a dispatch stopped
}

// stalled reports whether the next message to hand out is on disk and not
// readable yet: the top lane waits and has no requeued message before its
// disk part. (A waiting lane's mem is empty: it only loads when mem is.)
func (q *Queue) stalled() bool {
	top := q.topLane()
	if top < 0 || q.err != nil {
		return false
	}
	l := &q.lanes[top]
	return l.blocked() && len(l.requeued) == 0
}
