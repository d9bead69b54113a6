package node

import (
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/tier"
)

// How a shard drives the tier.Queue of each of its queues (tier/doc.go):
//
//	effects.Delete        tier Delete: a cold record gets a cold ack
//	effects.DeleteRange   tier DeleteRange: range cold acks for its ColdRanges
//	effects.DeleteQueue   tier Drop: delete intents for every segment
//	end of an iteration   Dead (after the queue's Flush), Account (node hot
//	                      and read-ahead counters), Pick when a slot is free
//	after the commit      picked uploads and planned reads go to the workers
//	upload result         uploaded (uploader.go)
//	Store.Load            tieredLoader: Avail, DB.Load, Merge, then Fetches
//	fetch result          fetched: Fetched (wake: Resume), then Fetches
//
// Uploads and reads are handed to the workers only after the iteration's
// batch is committed, so an uploader's ReadRun and a fetcher's cold-ack
// read see every write the shard made before it planned them.

// newTier makes the tier state of a queue the shard adopts; nil when
// tiering is off.
func (s *shard) newTier(spec *storage.QueueSpec) *tier.Queue {
	t := s.n.tier
	if t == nil {
		return nil
	}
	return tier.New(spec.ID, int(spec.MaxPriority)+1, t.gen.Add(1), t.cfg)
}

// tierOf is queue q's tier state, nil when tiering is off.
func (s *shard) tierOf(q storage.QueueID) *tier.Queue {
	if s.n.tier == nil {
		return nil
	}
	if qs := s.queues[q]; qs != nil {
		return qs.tq
	}
	return nil
}

// flushQueue writes the queue's metadata and, with tiering, removes the
// segments it made dead, in the same batch (TIERING.md §3); their objects
// go to the deleter once the batch is synced.
func (s *shard) flushQueue(qs *qstate) {
	qs.q.Flush(&s.fx)
	if qs.tq == nil {
		return
	}
	dead := qs.tq.Dead(tierSource{qs.q}, s.deadBuf[:0])
	for _, sg := range dead {
		s.batch.DeleteSegment(sg.Queue, sg.Lane, sg.Kind, sg.First)
		s.batch.DeleteColdAcks(sg.Queue, sg.Lane, sg.Kind, sg.First, sg.Last+1)
		s.deleteObject(sg.ObjectKey(s.n.tier.nid))
	}
	s.deadBuf = dead[:0]
}

// accountTier adds the queue's change of hot records and read-ahead to
// the node's counters.
func (s *shard) accountTier(qs *qstate) {
	if qs.tq == nil {
		return
	}
	t := s.n.tier
	d := qs.tq.Account(tierSource{qs.q})
	if d != (tier.Span{}) {
		w := d.Weight()
		hot := t.hot.Add(w)
		t.hotN.Add(d.N)
		t.hotMoved(hot-w, hot)
	}
	s.chargeReadAhead(qs)
}

// chargeReadAhead adds the change of the queue's read-ahead to the node's;
// a release lets waiting reads start.
func (s *shard) chargeReadAhead(qs *qstate) {
	d := qs.tq.ReadAheadBytes() - qs.readAhead
	if d == 0 {
		return
	}
	qs.readAhead += d
	s.n.tier.readAhead.Add(d)
	if d < 0 {
		s.n.tier.fetch.released()
	}
}

// pickUpload starts the queue's next upload if it should offload and an
// uploader slot is free; a queue that found no slot is retried when one
// frees up.
func (s *shard) pickUpload(qs *qstate) {
	t := s.n.tier
	if qs.tq == nil || qs.tq.Uploading() || qs.tq.Hot().N == 0 {
		return
	}
	if !t.takeSlot() {
		if !qs.waitSlot {
			qs.waitSlot = true
			s.tierWait = append(s.tierWait, qs)
		}
		return
	}
	job, ok := qs.tq.Pick(tierSource{qs.q}, t.scan())
	if !ok {
		t.giveSlot(false)
		return
	}
	t.busy.Add(1)
	s.tierJobs = append(s.tierJobs, uploadJob{job: job})
}

// retryPicks tries again the queues that found no uploader slot.
func (s *shard) retryPicks() {
	wait := s.tierWait
	s.tierWait = nil
	for _, qs := range wait {
		qs.waitSlot = false
		if s.queues[qs.q.ID()] == qs {
			s.pickUpload(qs)
		}
	}
}

// planFetches collects the reads lane li of the queue needs next.
func (s *shard) planFetches(qs *qstate, li uint8) {
	n := len(s.tierReads)
	fs := qs.tq.Fetches(li, s.fetchBuf[:0])
	for _, f := range fs {
		s.tierReads = append(s.tierReads, fetchReq{q: qs.q.ID(), f: f})
	}
	clear(fs)
	s.fetchBuf = fs[:0]
	if len(s.tierReads) > n {
		s.n.tier.busy.Add(int64(len(s.tierReads) - n))
		s.chargeReadAhead(qs)
	}
}

// dispatchTier hands the iteration's uploads and reads to the workers,
// after the batch is committed.
func (s *shard) dispatchTier() {
	t := s.n.tier
	if t == nil {
		return
	}
	if s.tierCommits {
		s.tierCommits = false
		crashPoint(crashAfterCommit)
	}
	for i, j := range s.tierJobs {
		t.uploads <- j
		s.tierJobs[i] = uploadJob{}
	}
	s.tierJobs = s.tierJobs[:0]
	if len(s.tierReads) > 0 {
		t.fetch.push(s.tierReads)
		clear(s.tierReads)
		s.tierReads = s.tierReads[:0]
	}
	for _, l := range s.tierUrge {
		t.fetch.promote(l.q, l.lane)
	}
	s.tierUrge = s.tierUrge[:0]
	if s.tierDone != 0 {
		t.busy.Add(-s.tierDone)
		s.tierDone = 0
	}
}

// fetched applies a read's result; when the lane it waited for may go on,
// the queue resumes (re-applying its parked gets before any delivery).
func (s *shard) fetched(q storage.QueueID, res tier.FetchResult) {
	s.tierDone++
	qs := s.queues[q]
	if qs == nil || qs.tq == nil {
		return
	}
	if res.Err != nil {
		s.n.opts.Logger.Error("tier: segment unreadable", "queue", q, "lane", res.Fetch.Seg.Lane,
			"first", res.Fetch.Seg.First, "err", res.Err)
	}
	s.touch(qs)
	li := res.Fetch.Seg.Lane
	wake := qs.tq.Fetched(res)
	if wake {
		s.resume(qs)
	}
	s.planFetches(qs, li)
	if int(li) < len(qs.waiting) && qs.waiting[li] {
		s.tierUrge = append(s.tierUrge, laneRef{q, li})
	}
}

// laneRef names a lane of a queue.
type laneRef struct {
	q    storage.QueueID
	lane uint8
}

// setWaiting records whether the lane's last Load answered ErrNotReady;
// a lane that starts waiting gets its read promoted.
func (s *shard) setWaiting(qs *qstate, li uint8, waiting bool) {
	if qs.waiting == nil {
		if !waiting {
			return
		}
		qs.waiting = make([]bool, int(qs.q.Spec().MaxPriority)+1)
	}
	qs.waiting[li] = waiting
	if waiting {
		s.tierUrge = append(s.tierUrge, laneRef{qs.q.ID(), li})
	}
}

// tieredLoader is the shard's queue.Store when tiering is on: it merges
// Pebble's records with the cached blocks of the queue's segments, and
// answers queue.ErrNotReady when the next record is in a block not read
// yet (TIERING.md §4).
type tieredLoader struct{ s *shard }

func (l *tieredLoader) Load(q storage.QueueID, lane uint8, from, to storage.MsgID, kinds queue.StoredMask,
	maxCount int, maxBytes int64, dst []queue.Entry) ([]queue.Entry, error) {
	s := l.s
	qs := s.queues[q]
	if qs == nil || qs.tq == nil {
		return s.ld.Load(q, lane, from, to, kinds, maxCount, maxBytes, dst)
	}
	if err := s.applyPending(); err != nil {
		return dst, err
	}
	defer s.planFetches(qs, lane)
	for {
		avail, err := qs.tq.Avail(lane, kinds, from)
		if err != nil {
			return dst, err
		}
		if avail <= from {
			s.setWaiting(qs, lane, true)
			return dst, queue.ErrNotReady
		}
		end := min(to, avail)
		s.n.m.loads.Add(1)
		recs, err := s.n.db.Load(q, lane, from, end, kinds, maxCount, maxBytes, s.tierBuf[:0])
		if err != nil {
			return dst, err
		}
		n := len(dst)
		dst = qs.tq.Merge(lane, kinds, from, end, recs, maxCount, maxBytes, dst)
		clear(recs)
		s.tierBuf = recs[:0]
		if len(dst) > n || end >= to {
			s.setWaiting(qs, lane, false)
			return dst, nil
		}
		from = end // [from, end) held only acked records
	}
}
