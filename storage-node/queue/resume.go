package queue

import (
	"errors"

	"github.com/warrenmq/warren/api/storage"
)

// ErrNotReady is a Store.Load answer: the lane's next records exist but
// cannot be read yet (a tiered segment still being fetched). The lane then
// waits, with no error and its counters unchanged, until the caller calls
// Resume. Get answers it too.
var ErrNotReady = errors.New("queue: records not readable yet")

// Resume tells the queue that the reads its lanes wait for may succeed now.
// It clears every waiting lane, then makes what the waiting stopped, in the
// order a run that never waited makes it, only later: drop-head over a
// limit, the sweep of expiry checks that stopped at a waiting head, then
// gets, then deliveries to consumers. gets is the caller re-applying,
// through Get, the basic.gets that Get answered ErrNotReady, in arrival
// order (nil when it holds none): they came before any credit granted
// since. A Load may answer ErrNotReady again, and its lane waits again.
// Only what stopped is redone (a head that expired meanwhile waits for its
// timer, as it would have), so a Resume with nothing waiting, such as a
// read-ahead landing, changes nothing.
//
// Not exact: a drop-head that stopped takes the heads of the lanes as they
// are at Resume, so appends made while it waited (a higher lane, or a lane
// the drops would have emptied) can change which messages it drops.
func (q *Queue) Resume(now int64, fx Effects, gets func()) {
	if q.deleted {
		return
	}
	for li := range q.lanes {
		q.lanes[li].waiting = false
	}
	if q.spec.Overflow == storage.DropHead {
		q.dropHeads(now, fx) // over a limit only when a drop stopped
	}
	if first := q.expireStop - 1; first >= 0 {
		q.expireStop = 0
		q.expireFrom(first, now, fx)
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
	return l.waiting && len(l.requeued) == 0
}
