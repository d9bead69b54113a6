package node

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/segment"
	"github.com/warrenmq/warren/storage-node/tier"
)

// uploadJob is a picked upload on its way to an uploader.
type uploadJob struct{ job tier.Upload }

// uploadResult is what an uploader posts back to the queue's shard.
type uploadResult struct {
	job tier.Upload
	seg pebblestore.Segment
	run tier.Run
	key string // the object's key; "" when nothing was put
	err error  // the upload failed: nothing stored, the intents say so
}

// runUploader turns upload jobs into segment objects (TIERING.md §3 steps
// 1-3) and posts each result to the queue's shard (step 4). The buffers
// are the goroutine's own and reused: one segment's records and bytes.
func (t *tiering) runUploader() {
	defer t.wg.Done()
	var recs []queue.Entry
	var buf []byte
	for {
		select {
		case j := <-t.uploads:
			var r uploadResult
			r, recs, buf = t.upload(j.job, recs[:0], buf)
			clear(recs)
			t.n.shardOf(j.job.Queue).post(func(s *shard) { s.uploaded(r) })
		case <-t.ctx.Done():
			return
		}
	}
}

// upload reads the job's records, builds the object, writes the upload
// intent (synced: a crash after the Put must find it) and puts the object.
// After a failed Put the shard turns the intent into a delete intent (the
// store may hold the object); nothing in the queue changed.
func (t *tiering) upload(job tier.Upload, recs []queue.Entry, buf []byte) (uploadResult, []queue.Entry, []byte) {
	r := uploadResult{job: job}
	recs, err := t.n.db.ReadRun(job.Queue, job.Lane, job.Kind, job.From, job.To, job.MaxCount, job.MaxBytes, recs)
	if err != nil || len(recs) == 0 {
		r.err = err
		return r, recs, buf
	}
	obj, err := t.build(&r, recs, buf)
	if err != nil {
		r.err = err
		return r, recs, buf
	}
	r.key = r.seg.ObjectKey(t.nid)
	if err := t.uploadIntent(r.key); err != nil {
		r.err, r.key = err, ""
		return r, recs, obj
	}
	crashPoint(crashAfterIntent)
	if err := t.store.Put(t.ctx, r.key, obj); err != nil {
		r.err = fmt.Errorf("put %s: %w", r.key, err)
		return r, recs, obj
	}
	crashPoint(crashAfterPut)
	return r, recs, obj
}

// build makes the segment object of recs and fills r's segment and run.
func (t *tiering) build(r *uploadResult, recs []queue.Entry, buf []byte) ([]byte, error) {
	w := segment.NewWriter(buf)
	var bytes int64
	r.run = tier.Run{IDs: make([]storage.MsgID, 0, len(recs)), Bytes: make([]int64, 0, len(recs))}
	for i := range recs {
		e := &recs[i]
		if err := w.Add(&segment.Record{ID: e.ID, Msg: e.Msg, Expiry: e.Expiry}); err != nil {
			return buf, err
		}
		bytes += e.Size()
		r.run.IDs = append(r.run.IDs, e.ID)
		r.run.Bytes = append(r.run.Bytes, bytes)
	}
	obj, err := w.Finish()
	if err != nil {
		return buf, err
	}
	tr, err := segment.ReadTrailer(obj)
	if err != nil {
		return obj, err
	}
	j := &r.job
	r.seg = pebblestore.Segment{Queue: j.Queue, Lane: j.Lane, Kind: j.Kind,
		First: recs[0].ID, Last: recs[len(recs)-1].ID, Count: int64(len(recs)), Bytes: bytes,
		ObjSize: int64(len(obj)), IndexOff: tr.IndexOffset, Boot: t.n.boot, Seq: t.seq.Add(1)}
	return obj, nil
}

// uploadIntent writes the upload intent of key, synced: one fsync per
// segment, off the shards.
func (t *tiering) uploadIntent(key string) error {
	b := t.n.db.NewBatch()
	defer b.Pebble().Close()
	b.PutIntent(pebblestore.IntentUpload, key)
	if err := b.Pebble().Commit(pebble.Sync); err != nil {
		return fmt.Errorf("upload intent %s: %w", key, err)
	}
	return nil
}

// uploaded applies an upload result on the queue's shard (TIERING.md §3
// step 4): the table entry, the range delete of the records, the removal
// of the upload intent and the cold acks, in the iteration's batch. An
// upload that must not be committed (failed, aborted by a purge or the
// queue's delete, stale) leaves a delete intent for its object instead.
func (s *shard) uploaded(r uploadResult) {
	t := s.n.tier
	s.tierDone++
	defer t.giveSlot(true)
	qs := s.queues[r.job.Queue]
	if qs != nil && qs.tq != nil {
		s.touch(qs)
	}
	if r.err != nil {
		s.uploadFailed(qs, r)
		return
	}
	t.putSucceeded()
	if qs == nil || qs.tq == nil {
		s.abandon(r.key)
		return
	}
	acks, err := qs.tq.Commit(r.job, r.seg, r.run, tierSource{qs.q})
	switch {
	case r.key == "":
		return // the uploader found no record: no object
	case err != nil:
		if !errors.Is(err, tier.ErrAborted) {
			s.n.opts.Logger.Error("tier: upload not committed", "queue", r.job.Queue, "err", err)
		}
		s.abandon(r.key)
		return
	}
	sg := &r.seg
	s.batch.PutSegment(sg)
	s.batch.DeleteKindRange(sg.Queue, sg.Lane, sg.Kind, sg.First, sg.Last+1)
	s.batch.DeleteIntent(pebblestore.IntentUpload, r.key)
	for _, id := range acks {
		s.batch.PutColdAck(sg.Queue, sg.Lane, sg.Kind, id)
	}
	s.tierCommits = true
}

// uploadFailed: the records never left Pebble. The object, if the store
// kept it, gets a delete intent; the queue may pick the range again once
// the backoff ends.
func (s *shard) uploadFailed(qs *qstate, r uploadResult) {
	t := s.n.tier
	if r.key != "" {
		s.abandon(r.key)
		t.putFailed()
	}
	if qs != nil && qs.tq != nil {
		qs.tq.Cancel(r.job)
	}
	s.n.opts.Logger.Warn("tier: upload failed", "queue", r.job.Queue, "err", r.err)
}

// abandon turns an upload intent into a delete intent in the iteration's
// batch: the object must go (the deleter takes the key after the fsync).
func (s *shard) abandon(key string) {
	if key == "" {
		return
	}
	s.batch.DeleteIntent(pebblestore.IntentUpload, key)
	s.deleteObject(key)
}
