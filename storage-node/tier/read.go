package tier

import (
	"math"
	"slices"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/segment"
)

// noBound is Avail's answer when no segment limits the read.
const noBound = storage.MsgID(math.MaxUint64)

// reads are one lane and kind's cached and pending segment reads.
type reads struct {
	// blocks are ascending and contiguous from the lane's pos: each one
	// starts where the previous ends, or in a later segment.
	blocks  []block
	ix      *segment.Index // index of segment ixFirst, to plan blocks
	ixFirst storage.MsgID
	ixSeq   uint64 // ticket of the index read in flight, 0 when none
	ixBytes int64
	err     error // a read failed for good; Avail reports it
}

// block is one block read: pending until its result arrives, then the
// records it holds that no Load has served yet.
type block struct {
	seq       uint64
	first     storage.MsgID // First of its segment
	from, end storage.MsgID // every record of the segment in [from, end) is here
	pending   bool
	entries   []queue.Entry
	bytes     int64 // charged: the read's size while pending, then the entries' cost
}

// entryOverhead is the heap of an Entry and its Message beyond their
// bytes, as the queue's cache counts it.
const entryOverhead = 160

func cost(e *queue.Entry) int64 {
	m := e.Msg
	return int64(len(m.Body)+len(m.Properties)+len(m.Exchange)+len(m.RoutingKey)) + entryOverhead
}

func (t *Queue) charge(l *lane, delta int64) {
	l.readAhead += delta
	t.readAhead += delta
}

// uncovered is the first ID at or past from that lies in a segment and in
// no block (counting pending blocks when pending), with that segment's
// position; noBound and len(segs) when there is none. Gaps between
// segments are in no segment: their records of the kind are in Pebble.
func (k *kindState) uncovered(from storage.MsgID, pending bool) (storage.MsgID, int) {
	id, b := from, 0
	for i := k.search(from); i < len(k.segs); i++ {
		id = max(id, k.segs[i].First)
		id, b = k.read.coveredTo(id, b, pending)
		if id <= k.segs[i].Last {
			return id, i
		}
	}
	return noBound, len(k.segs)
}

// coveredTo extends id over the blocks, from position b on, that cover it.
func (r *reads) coveredTo(id storage.MsgID, b int, pending bool) (storage.MsgID, int) {
	for b < len(r.blocks) && r.blocks[b].end <= id {
		b++
	}
	for ; b < len(r.blocks) && r.blocks[b].from <= id && (pending || !r.blocks[b].pending); b++ {
		id = r.blocks[b].end
	}
	return id, b
}

// kindAt is the kind of lane.kinds[ki].
func kindAt(ki int) queue.Stored { return queue.Durable + queue.Stored(ki) }

// Avail is the availability bound of a Load of lane li at from (TIERING.md
// §4 steps 1-3): every record of kinds with from <= ID < avail is in
// Pebble or in a cached block. The loader reads Pebble over [from,
// min(to, avail)) and hands the records to Merge. avail <= from means the
// next record may be in a segment that isn't cached yet: the Load answers
// queue.ErrNotReady, the read it needs comes with the next Fetches, and
// Fetched says when to resume. err is a read that failed for good: the
// Load returns it and the queue stops reading from disk.
func (t *Queue) Avail(li uint8, kinds queue.StoredMask, from storage.MsgID) (avail storage.MsgID, err error) {
	if int(li) >= len(t.lanes) {
		return noBound, nil
	}
	t.advance(li, from)
	l := &t.lanes[li]
	for ki := range l.kinds {
		if err := l.kinds[ki].read.err; err != nil && kinds.Has(kindAt(ki)) {
			return from, err
		}
	}
	avail = t.bound(l, kinds)
	l.stalled, l.stallKinds = avail <= from, kinds
	return avail, nil
}

// bound is the lowest ID at or past the lane's position, of the kinds,
// that is in a segment and not cached.
func (t *Queue) bound(l *lane, kinds queue.StoredMask) storage.MsgID {
	b := noBound
	for ki := range l.kinds {
		if kinds.Has(kindAt(ki)) {
			u, _ := l.kinds[ki].uncovered(l.pos, false)
			b = min(b, u)
		}
	}
	return b
}

// advance moves the lane's read position up to pos: the reads below it
// are done with, and the segments it passed are marked for the dead
// check. Past the last segment nothing is cold, which resets an estimate
// that drifted (after a restart it counts records acked before the
// crash). A Load may start below the position: after the loader went past
// blocks of acked records and then had to wait, the queue's diskFrom
// stayed behind; [from, pos) holds no cold record, so reads go on from
// pos.
func (t *Queue) advance(li uint8, pos storage.MsgID) {
	l := &t.lanes[li]
	if pos <= l.pos {
		return
	}
	for ki := range l.kinds {
		k := &l.kinds[ki]
		for i := k.search(l.pos); i < len(k.segs) && k.segs[i].Last < pos; i++ {
			t.mark(li, kindAt(ki), k.segs[i].First)
		}
		t.consume(l, k, pos)
		if k.search(pos) == len(k.segs) {
			k.cold = Span{} // no segment holds a record at or past pos
		}
	}
	l.pos = pos
}

// consume drops the kind's blocks and entries below pos, and its index
// once pos is past that segment.
func (t *Queue) consume(l *lane, k *kindState, pos storage.MsgID) {
	r := &k.read
	n := 0
	for ; n < len(r.blocks) && r.blocks[n].end <= pos; n++ {
		t.charge(l, -r.blocks[n].bytes)
	}
	r.blocks = slices.Delete(r.blocks, 0, n)
	if len(r.blocks) > 0 && !r.blocks[0].pending {
		t.trim(l, &r.blocks[0], pos)
	}
	if r.ix == nil {
		return
	}
	if i, ok := k.find(r.ixFirst); !ok || k.segs[i].Last < pos {
		t.dropIndex(l, r)
	}
}

// trim drops the block's entries below pos, releasing the messages.
func (t *Queue) trim(l *lane, b *block, pos storage.MsgID) {
	n := 0
	var freed int64
	for ; n < len(b.entries) && b.entries[n].ID < pos; n++ {
		freed += cost(&b.entries[n])
	}
	clear(b.entries[:n])
	b.entries = b.entries[n:]
	b.bytes -= freed
	t.charge(l, -freed)
}

func (t *Queue) dropIndex(l *lane, r *reads) {
	t.charge(l, -r.ixBytes)
	r.ix, r.ixFirst, r.ixSeq, r.ixBytes = nil, 0, 0, 0
}

// dropReads forgets every read of the lane: cached blocks, indexes, reads
// in flight (their results will find no ticket) and errors.
func (t *Queue) dropReads(li uint8) {
	l := &t.lanes[li]
	for ki := range l.kinds {
		r := &l.kinds[ki].read
		for i := range r.blocks {
			t.charge(l, -r.blocks[i].bytes)
		}
		t.dropIndex(l, r)
		clear(r.blocks)
		*r = reads{blocks: r.blocks[:0]}
	}
	l.stalled = false
}

// dropSegmentReads forgets the reads of one segment.
func (t *Queue) dropSegmentReads(li uint8, k *kindState, first storage.MsgID) {
	l := &t.lanes[li]
	r := &k.read
	r.blocks = slices.DeleteFunc(r.blocks, func(b block) bool {
		if b.first == first {
			t.charge(l, -b.bytes)
		}
		return b.first == first
	})
	if r.ixFirst == first {
		t.dropIndex(l, r)
	}
}
