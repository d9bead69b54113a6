package tier

import (
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
)

// mark queues a segment for the dead check, once until it is checked.
// The queue can't count live records per segment (Delete carries no size,
// purge deletes ranges), so the tier asks Source.LiveIn when something
// may have made a segment dead: a cold ack in it, a purge over it, a Load
// past its Last, its commit.
func (t *Queue) mark(li uint8, k queue.Stored, first storage.MsgID) {
	ks := t.kind(li, k)
	i, ok := ks.find(first)
	if !ok || ks.segs[i].marked {
		return
	}
	ks.segs[i].marked = true
	t.marks = append(t.marks, ref{li, k, first})
}

// Dead checks the marked segments, removes the dead ones from the tables
// and appends them to dst: the node deletes each one's table entry and
// cold acks and writes its delete intent (TIERING.md §3). A segment is
// dead when Last < Floor of its lane, or when LiveIn finds no live ID in
// [First, Last+1). Call it after the queue's effects are flushed, so
// LiveIn sees the acks that marked the segments.
func (t *Queue) Dead(src Source, dst []pebblestore.Segment) []pebblestore.Segment {
	for _, r := range t.marks {
		ks := t.kind(r.lane, r.kind)
		i, ok := ks.find(r.first)
		if !ok {
			continue // removed since it was marked
		}
		ks.segs[i].marked = false
		if s := &ks.segs[i].Segment; s.Last < src.Floor(r.lane) || !src.LiveIn(r.lane, s.First, s.Last+1) {
			dst = append(dst, *s)
			t.removeSegment(r.lane, r.kind, i)
		}
	}
	t.marks = t.marks[:0]
	return dst
}

// removeSegment drops a dead segment and whatever was read of it.
func (t *Queue) removeSegment(li uint8, k queue.Stored, i int) {
	ks := t.kind(li, k)
	s := ks.segs[i].Segment
	t.segments--
	t.objBytes -= s.ObjSize
	t.dropSegmentReads(li, ks, s.First)
	ks.remove(i)
}
