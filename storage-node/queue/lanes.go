package queue

import (
	"sort"

	"github.com/warrenmq/warren/api/storage"
)

// Read-only views of a lane for the node, which tiers a lane's disk part
// to object storage without the queue knowing: it sizes the hot part from
// Disk and finds dead segments with Floor and LiveIn. A lane the queue does
// not have (above its max priority) is empty.

// Span counts records and their body bytes (the shape of tier.Span, so the
// node converts one to the other).
type Span struct{ N, Bytes int64 }

// NextID is the ID the queue's next message gets: the end of every lane's
// disk part.
func (q *Queue) NextID() storage.MsgID { return q.nextID }

// Disk is the lane's disk part: the ready records that are only in the
// store, by kind. from is the first ID the next Load may return; it means
// nothing while both spans are empty.
func (q *Queue) Disk(lane uint8) (from storage.MsgID, durable, spill Span) {
	if int(lane) >= len(q.lanes) {
		return 0, Span{}, Span{}
	}
	l := &q.lanes[lane]
	d, s := l.disk[Durable], l.disk[Spill]
	return l.diskFrom, Span{d.n, d.bytes}, Span{s.n, s.bytes}
}

// Floor is at or below every ID of the lane that is still in the queue
// (ready, in flight or requeued): everything below it is settled. It is the
// floor the next SaveMeta persists, and it only rises while the queue runs.
func (q *Queue) Floor(lane uint8) storage.MsgID {
	if int(lane) >= len(q.lanes) {
		return q.nextID
	}
	return q.floor(&q.lanes[lane])
}

// LiveIn reports whether some ID of the lane with from <= ID < to may still
// be delivered or settled: the disk part reaches into the range, or mem or
// the unsettled set (in flight and requeued) holds an ID in it. It does not
// look at kinds, so it may say true for a range whose only live records are
// of the other kind. Cost: O(log n) in mem, O(credit) in the unsettled set.
func (q *Queue) LiveIn(lane uint8, from, to storage.MsgID) bool {
	if int(lane) >= len(q.lanes) || from >= to {
		return false
	}
	l := &q.lanes[lane]
	if l.diskN() > 0 && to > l.diskFrom && from < q.nextID {
		return true
	}
	return l.mem.holdsIn(from, to) || l.unsettled.holdsIn(from, to)
}

// holdsIn reports whether the ring, in ascending ID order, holds an ID in
// [from, to).
func (r *ring) holdsIn(from, to storage.MsgID) bool {
	i := sort.Search(r.n, func(i int) bool { return r.at(i).ID >= from })
	return i < r.n && r.at(i).ID < to
}

// holdsIn reports whether a live ID of the set is in [from, to).
func (u *unsettled) holdsIn(from, to storage.MsgID) bool {
	rest := u.ids[u.head:]
	i := sort.Search(len(rest), func(i int) bool { return rest[i] >= from })
	for ; i < len(rest) && rest[i] < to; i++ {
		if !u.dead[u.head+i] {
			return true
		}
	}
	return false
}
