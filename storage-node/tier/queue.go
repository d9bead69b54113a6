package tier

import (
	"errors"
	"fmt"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Source is what the tier reads from the queue state machine; the node
// adapts queue.Queue's read-only accessors to it.
type Source interface {
	// Disk is the lane's disk part: from is its first ID (meaningless
	// when both spans are empty), and the records only on disk, by kind.
	Disk(lane uint8) (from storage.MsgID, durable, spill Span)
	// NextID is the ID the queue's next message gets: the end of every
	// lane's disk part.
	NextID() storage.MsgID
	// Floor is at or below every live ID of the lane (the meta's floor).
	Floor(lane uint8) storage.MsgID
	// LiveIn reports whether some ID in [from, to) may still be live in
	// the lane: conservative, a true answer only keeps a segment.
	LiveIn(lane uint8, from, to storage.MsgID) bool
}

// Queue is the tier state of one queue. See the package doc.
type Queue struct {
	id    storage.QueueID
	gen   uint64
	cfg   Config
	lanes []lane
	seq   uint64  // last ticket handed out
	up    *upload // the upload in flight, nil when none
	marks []ref   // segments to check for deadness, each marked once

	offloading bool  // over QueueHotBytes and not yet back under the low mark
	hot, cold  Span  // as of the last Account
	segments   int   // table entries, all lanes and kinds
	objBytes   int64 // their objects' sizes
	readAhead  int64 // cached and pending reads, charged bytes
	dropped    bool
}

// lane is one priority level's tier state.
type lane struct {
	kinds [2]kindState // Durable, Spill
	// pos is where the lane's last Load stopped: reads are planned from it.
	pos storage.MsgID
	// stalled: the last Avail found nothing readable; a fetch result that
	// covers pos wakes the lane.
	stalled    bool
	stallKinds queue.StoredMask // the kinds that Load read
	readAhead  int64
}

// ref names a table entry across changes of the table.
type ref struct {
	lane  uint8
	kind  queue.Stored
	first storage.MsgID
}

// ErrAborted is Commit's answer for an upload that must not be committed:
// a purge or the queue's delete overlapped it, or the job is stale. The
// object must be deleted.
var ErrAborted = errors.New("upload aborted")

// New makes the tier state of a queue with lanes lanes and no segments.
// gen must differ from every earlier tier.Queue of the same queue ID on
// this node, so results for an older one are never applied to it.
func New(id storage.QueueID, lanes int, gen uint64, cfg Config) *Queue {
	return &Queue{id: id, gen: gen, cfg: cfg.WithDefaults(), lanes: make([]lane, lanes)}
}

// kind is the state of lane li and kind k, nil for a lane out of range
// or a kind that is never tiered (NotStored).
func (t *Queue) kind(li uint8, k queue.Stored) *kindState {
	if int(li) >= len(t.lanes) || (k != queue.Durable && k != queue.Spill) {
		return nil
	}
	return &t.lanes[li].kinds[k-queue.Durable]
}

// Restore loads the segments recovered at startup (pebblestore.Recovered,
// by lane then First). The cold estimate of each lane and kind becomes the
// sum of its segments with Last >= Floor (an overestimate by the acked
// records of partly drained segments, exact again once the disk part
// empties). Every segment is marked for the dead check. An error names a
// segment out of order or of a lane the queue doesn't have; the ones
// before it are kept.
func (t *Queue) Restore(segs []pebblestore.Segment, src Source) error {
	for i := range segs {
		s := &segs[i]
		k := t.kind(s.Lane, s.Kind)
		if k == nil || s.Queue != t.id {
			return fmt.Errorf("restore segment %d/%d/%d into queue %d of %d lanes", s.Queue, s.Lane, s.First, t.id, len(t.lanes))
		}
		if err := k.add(s); err != nil {
			return fmt.Errorf("restore queue %d: %w", t.id, err)
		}
		t.added(s)
		if s.Last >= src.Floor(s.Lane) {
			k.cold = k.cold.add(Span{s.Count, s.Bytes})
		}
	}
	return nil
}

// added counts a new table entry and marks it: a segment may be dead from
// the start (all its records acked during the upload, or before a crash).
func (t *Queue) added(s *pebblestore.Segment) {
	t.segments++
	t.objBytes += s.ObjSize
	t.mark(s.Lane, s.Kind, s.First)
}

// Locate reports whether id, a record of lane li and kind k, is cold, and
// its segment: a compare against the lane's cold range, then a binary
// search.
func (t *Queue) Locate(li uint8, k queue.Stored, id storage.MsgID) (pebblestore.Segment, bool) {
	ks := t.kind(li, k)
	if ks == nil {
		return pebblestore.Segment{}, false
	}
	i, ok := ks.locate(id)
	if !ok {
		return pebblestore.Segment{}, false
	}
	return ks.segs[i].Segment, true
}

// Delete is told of every record that leaves the queue (effects.Delete).
// It reports whether the record is cold: then the node writes a cold ack
// instead of deleting the Pebble key, and the segment is marked for the
// dead check. Inside the range of the upload in flight it notes the ID:
// the object may hold the record, so the commit writes a cold ack for it.
func (t *Queue) Delete(li uint8, k queue.Stored, id storage.MsgID) (cold bool) {
	if up := t.up; up != nil && up.covers(li, k, id) {
		up.deletes = append(up.deletes, id)
	}
	ks := t.kind(li, k)
	if ks == nil {
		return false
	}
	i, ok := ks.locate(id)
	if ok {
		t.mark(li, k, ks.segs[i].First)
	}
	return ok
}

// ColdRange is part of a segment whose records left the queue without a
// Delete: a purge that starts inside the segment (the lane had loaded its
// head). The segment stays live for the loaded records, so unless each
// record of the segment with From <= ID < To gets a cold ack in the
// purge's batch, a restart brings the purged records back.
type ColdRange struct {
	Seg      pebblestore.Segment
	From, To storage.MsgID
}

// DeleteRange is told of every effects.DeleteRange: a purge of the lane's
// disk part [diskFrom, nextID). It aborts an upload of the lane over the
// range, drops the lane's cached and pending reads, marks the segments in
// the range for the dead check (those entirely inside it are dead: call
// Dead before the purge's batch is committed), and moves the lane's reads
// past the range, which empties its cold estimate. It appends to dst the
// parts of the segments that start before the range and end inside it.
func (t *Queue) DeleteRange(li uint8, from, to storage.MsgID, dst []ColdRange) []ColdRange {
	if int(li) >= len(t.lanes) {
		return dst
	}
	if up := t.up; up != nil && up.job.Lane == li && up.job.From < to && from < up.job.To {
		up.aborted = true
	}
	t.dropReads(li)
	for _, k := range []queue.Stored{queue.Durable, queue.Spill} {
		ks := t.kind(li, k)
		for i := ks.search(from); i < len(ks.segs) && ks.segs[i].First < to; i++ {
			s := &ks.segs[i].Segment
			if s.First < from {
				dst = append(dst, ColdRange{Seg: *s, From: from, To: min(to, s.Last+1)})
			}
			t.mark(li, k, s.First)
		}
	}
	t.advance(li, max(to, t.lanes[li].pos))
	return dst
}

// Drop ends the queue (effects.DeleteQueue): it aborts the upload in
// flight, drops every read, and appends to dst every segment, whose
// objects the node must delete. Afterwards the Queue holds nothing: one
// more Account returns the hot records the node counted, negated; Commit
// and Fetched answer that they dropped their input.
func (t *Queue) Drop(dst []pebblestore.Segment) []pebblestore.Segment {
	dst = t.Segments(dst)
	for li := range t.lanes {
		t.dropReads(uint8(li))
	}
	*t = Queue{id: t.id, gen: t.gen, cfg: t.cfg, dropped: true, hot: t.hot}
	return dst
}

// Segments appends every table entry to dst, by lane, kind and First.
func (t *Queue) Segments(dst []pebblestore.Segment) []pebblestore.Segment {
	for li := range t.lanes {
		for ki := range t.lanes[li].kinds {
			for _, e := range t.lanes[li].kinds[ki].segs {
				dst = append(dst, e.Segment)
			}
		}
	}
	return dst
}
