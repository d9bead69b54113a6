package tier

import (
	"fmt"
	"slices"
	"sort"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Upload is an upload job for the uploader: read the lane's records of
// Kind with From <= ID < To from Pebble (pebblestore.DB.ReadRun), up to
// MaxCount records or MaxBytes of bodies (at least one record), and put
// them in one segment. MaxCount is SegmentBytes in the hot measure, so
// empty bodies don't make an endless segment. Gen and Seq identify the
// job to Commit and Cancel.
type Upload struct {
	Queue    storage.QueueID
	Gen, Seq uint64
	Lane     uint8
	Kind     queue.Stored
	From, To storage.MsgID
	MaxCount int
	MaxBytes int64
}

// Run describes the records the uploader put in the object: their IDs,
// ascending, and Bytes[i], the body bytes of records 0..i (cumulative),
// so the commit can count the ones still in the disk part.
type Run struct {
	IDs   []storage.MsgID
	Bytes []int64
}

// upload is the job in flight and what happened to its range since.
type upload struct {
	job     Upload
	deletes []storage.MsgID // records of the range that left the queue
	aborted bool            // a purge overlapped the range
}

func (u *upload) covers(li uint8, k queue.Stored, id storage.MsgID) bool {
	return !u.aborted && u.job.Lane == li && u.job.Kind == k && id >= u.job.From && id < u.job.To
}

// Uploading reports whether an upload of the queue is in flight; there is
// at most one.
func (t *Queue) Uploading() bool { return t.up != nil }

// Pick chooses the queue's next upload, if the queue should offload and
// none is in flight (TIERING.md §2). The queue offloads once its hot
// bytes pass QueueHotBytes, until they are back at QueueHotBytes -
// SegmentBytes; in scan mode (the node is over HotBytes/2) also whenever
// they reach MinSegmentBytes. The lane is the lowest with hot records,
// preferring one with MinSegmentBytes hot so that a trickle into a low
// lane doesn't cut tiny segments; the kind is the one with more hot bytes
// in it. The range starts at the lane's diskFrom, or past the kind's last
// segment, and ends at NextID: everything in it is ready and not loaded.
// The job is in flight until Commit or Cancel.
func (t *Queue) Pick(src Source, scan bool) (Upload, bool) {
	if t.up != nil || t.dropped || !t.wantsUpload(src, scan) {
		return Upload{}, false
	}
	for _, least := range []int64{t.cfg.MinSegmentBytes, 1} {
		for li := range t.lanes {
			if job, ok := t.candidate(uint8(li), least, src); ok {
				t.seq++
				job.Seq = t.seq
				t.up = &upload{job: job}
				return job, true
			}
		}
	}
	return Upload{}, false
}

// wantsUpload applies the thresholds, with hysteresis so a queue at the
// threshold doesn't cut a segment per appended message.
func (t *Queue) wantsUpload(src Source, scan bool) bool {
	hot := t.hotSpan(src).Weight()
	switch {
	case hot > t.cfg.QueueHotBytes:
		t.offloading = true
	case hot <= t.cfg.QueueHotBytes-t.cfg.SegmentBytes:
		t.offloading = false
	}
	return hot > 0 && (t.offloading || scan && hot >= t.cfg.MinSegmentBytes)
}

// candidate is the upload of lane li with at least least hot bytes, the
// kind with more hot bytes first.
func (t *Queue) candidate(li uint8, least int64, src Source) (Upload, bool) {
	from, durable, spill := src.Disk(li)
	kinds := [2]queue.Stored{queue.Durable, queue.Spill}
	hot := [2]Span{t.hotOf(li, queue.Durable, durable), t.hotOf(li, queue.Spill, spill)}
	if hot[1].Weight() > hot[0].Weight() {
		kinds[0], kinds[1], hot[0], hot[1] = kinds[1], kinds[0], hot[1], hot[0]
	}
	for i, k := range kinds {
		start := max(from, t.kind(li, k).hotFrom)
		if hot[i].N > 0 && hot[i].Weight() >= least && start < src.NextID() {
			return Upload{Queue: t.id, Gen: t.gen, Lane: li, Kind: k, From: start, To: src.NextID(),
				MaxCount: int(max(1, t.cfg.SegmentBytes/RecordOverhead)), MaxBytes: t.cfg.SegmentBytes}, true
		}
	}
	return Upload{}, false
}

// Cancel ends an upload that stored nothing (the Put failed): nothing in
// the queue changed, and the next Pick may choose the same range again.
// A stale job is ignored.
func (t *Queue) Cancel(job Upload) {
	if t.current(job) {
		t.up = nil
	}
}

// current reports whether job is the upload in flight.
func (t *Queue) current(job Upload) bool {
	return !t.dropped && job.Gen == t.gen && t.up != nil && t.up.job.Seq == job.Seq
}

// Commit records an uploaded segment s holding run (TIERING.md §3 step
// 4). It returns the IDs the node must write cold acks for, ascending:
// the records of the object that left the queue during the upload. The
// node then writes, in one batch, the table entry, the range delete of
// the kind's records over [First, Last+1), the removal of the upload
// intent, and those cold acks.
//
// An error means nothing changed here and the object must be deleted:
// ErrAborted (a purge or delete overlapped the upload, or the job is
// stale), or a run that doesn't match its job or the table. An empty run
// (the uploader found no record, no object) returns no error, and no
// later upload of the lane and kind starts below job.To.
func (t *Queue) Commit(job Upload, s pebblestore.Segment, run Run, src Source) ([]storage.MsgID, error) {
	if !t.current(job) {
		return nil, ErrAborted
	}
	up := t.up
	t.up = nil
	switch {
	case up.aborted:
		return nil, ErrAborted
	case len(run.IDs) == 0:
		t.foundNothing(job, src)
		return nil, nil
	}
	k := t.kind(job.Lane, job.Kind)
	if err := checkRun(&job, &s, run); err != nil {
		return nil, err
	}
	if err := k.add(&s); err != nil {
		return nil, fmt.Errorf("commit upload of queue %d: %w", t.id, err)
	}
	t.added(&s)
	k.cold = k.cold.add(coldSuffix(job.Lane, job.Kind, run, src))
	return up.acksIn(run.IDs), nil
}

// foundNothing: no record of the kind in [From, To) means every record of
// it in the disk part is cold, which makes the estimate exact when nothing
// was appended since the pick.
func (t *Queue) foundNothing(job Upload, src Source) {
	k := t.kind(job.Lane, job.Kind)
	k.hotFrom = max(k.hotFrom, job.To)
	if src.NextID() == job.To {
		k.cold = diskOf(src, job.Lane, job.Kind)
	}
}

// checkRun checks what the tables rely on: the segment is the run, of the
// job's lane and kind, inside the job's range.
func checkRun(job *Upload, s *pebblestore.Segment, run Run) error {
	n := len(run.IDs)
	switch {
	case s.Queue != job.Queue || s.Lane != job.Lane || s.Kind != job.Kind:
		return fmt.Errorf("segment %d/%d/%v for upload %d/%d/%v", s.Queue, s.Lane, s.Kind, job.Queue, job.Lane, job.Kind)
	case len(run.Bytes) != n || s.Count != int64(n) || s.Bytes != run.Bytes[n-1]:
		return fmt.Errorf("segment of %d records, %d bytes; run of %d IDs, %d sizes", s.Count, s.Bytes, n, len(run.Bytes))
	case s.First != run.IDs[0] || s.Last != run.IDs[n-1] || s.First < job.From || s.Last >= job.To:
		return fmt.Errorf("segment [%d, %d], run [%d, %d], upload [%d, %d)", s.First, s.Last, run.IDs[0], run.IDs[n-1], job.From, job.To)
	case !slices.IsSorted(run.IDs):
		return fmt.Errorf("run IDs out of order")
	}
	return nil
}

// coldSuffix is the part of the run still in the disk part: the records
// at or past diskFrom now. Records below it were loaded during the upload;
// their later Delete finds them cold.
func coldSuffix(li uint8, k queue.Stored, run Run, src Source) Span {
	from, _, _ := src.Disk(li)
	if diskOf(src, li, k).N == 0 {
		return Span{}
	}
	i := sort.Search(len(run.IDs), func(i int) bool { return run.IDs[i] >= from })
	n := len(run.IDs)
	if i == n {
		return Span{}
	}
	below := int64(0)
	if i > 0 {
		below = run.Bytes[i-1]
	}
	return Span{int64(n - i), run.Bytes[n-1] - below}
}

// acksIn is the noted deletes that the object holds, ascending, once
// each.
func (u *upload) acksIn(ids []storage.MsgID) []storage.MsgID {
	var acks []storage.MsgID
	for _, id := range u.deletes {
		if _, ok := slices.BinarySearch(ids, id); ok {
			acks = append(acks, id)
		}
	}
	slices.Sort(acks)
	return slices.Compact(acks)
}
