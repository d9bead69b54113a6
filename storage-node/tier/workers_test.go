package tier

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/segment"
)

// upload is the uploader's read and Put (TIERING.md §3 steps 1-3): the
// job's records, in ID order, up to MaxBytes, as one segment object.
func (e *env) upload() string {
	j := e.job
	l := &e.lanes[j.Lane]
	var ids []storage.MsgID
	for id := range l.pebble[j.Kind] {
		if id >= j.From && id < j.To {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	e.run = &Run{}
	var recs []segment.Record
	var bytes int64
	for _, id := range ids {
		if (bytes >= j.MaxBytes || len(recs) == j.MaxCount) && len(recs) > 0 {
			break
		}
		m := l.pebble[j.Kind][id]
		recs = append(recs, segment.Record{ID: id, Msg: m})
		bytes += int64(len(m.Body))
		e.run.IDs = append(e.run.IDs, id)
		e.run.Bytes = append(e.run.Bytes, bytes)
	}
	if len(recs) == 0 {
		return "read nothing"
	}
	e.obj = must(segment.Build(recs))
	tr := must(segment.ReadTrailer(e.obj))
	e.putSeq++
	e.seg = pebblestore.Segment{Queue: j.Queue, Lane: j.Lane, Kind: j.Kind, First: ids[0], Last: recs[len(recs)-1].ID,
		Count: int64(len(recs)), Bytes: bytes, ObjSize: int64(len(e.obj)), IndexOff: tr.IndexOffset, Boot: 1, Seq: e.putSeq}
	return fmt.Sprintf("put [%d,%d] %d records %d bytes", e.seg.First, e.seg.Last, len(recs), bytes)
}

// commit is the shard's side of step 4: Commit, then the batch. With
// job, the commit comes for that earlier job; with mismatch, the segment
// doesn't describe the run.
func (e *env) commit(job *Upload, mismatch bool) string {
	j, run := *e.job, *e.run
	e.run = nil
	if job != nil {
		j = *job
	} else {
		e.job = nil
	}
	if mismatch {
		e.seg.Count++
	}
	acks, err := e.t.Commit(j, e.seg, run, e)
	switch {
	case len(run.IDs) == 0:
		return fmt.Sprintf("nothing to commit (err=%v)", err)
	case err != nil:
		return fmt.Sprintf("not committed, object deleted: %v", err)
	}
	l := &e.lanes[j.Lane]
	for _, id := range run.IDs {
		delete(l.pebble[j.Kind], id) // the range delete over [First, Last+1)
	}
	e.objs[ref{j.Lane, j.Kind, e.seg.First}] = e.obj
	for _, id := range acks {
		e.acks[ref{j.Lane, j.Kind, id}] = true
	}
	return fmt.Sprintf("committed [%d,%d] cold acks %v", e.seg.First, e.seg.Last, acks)
}

// fetch is the fetcher's read of f, against the model's object store.
func (e *env) fetch(f Fetch) FetchResult {
	res := FetchResult{Fetch: f}
	obj, ok := e.objs[ref{f.Seg.Lane, f.Seg.Kind, f.Seg.First}]
	if !ok {
		res.Err = errors.New("object not found")
		return res
	}
	if f.Index == nil {
		tail := obj[f.Seg.IndexOff:]
		res.Index, res.Err = segment.ReadIndex(tail, must(segment.ReadTrailer(tail)))
		return res
	}
	off, n := f.Index.Range(f.I, f.J)
	recs := must(f.Index.Records(obj[off:off+n], f.I, f.J))
	for _, r := range recs {
		if !e.acks[ref{f.Seg.Lane, f.Seg.Kind, r.ID}] {
			m := *r.Msg
			res.Entries = append(res.Entries, queue.Entry{ID: r.ID, Msg: &m, Stored: f.Seg.Kind})
		}
	}
	return res
}

// fetches hands the lane's next reads to the fetcher.
func (e *env) fetches(li uint8) {
	for _, f := range e.t.Fetches(li, nil) {
		e.issued = append(e.issued, f)
		fmt.Fprintf(e.out, "fetch %s\n", fmtFetch(f))
	}
}

// fetched answers the issued read with ticket seq (the oldest when 0),
// failing it with err when given, then plans the lane's next reads.
func (e *env) fetched(seq uint64, err error) string {
	i := slices.IndexFunc(e.issued, func(f Fetch) bool { return seq == 0 || f.Seq == seq })
	if i < 0 {
		return "no such fetch"
	}
	f := e.issued[i]
	e.issued = slices.Delete(e.issued, i, i+1)
	res := e.fetch(f)
	if err != nil {
		res.Err = err
	}
	wake := e.t.Fetched(res)
	fmt.Fprintf(e.out, "fetched %d: %s wake=%v\n", f.Seq, fmtResult(&res), wake)
	e.fetches(f.Seg.Lane)
	return ""
}

// dead deletes what Dead returns: table entry, cold acks, object.
func (e *env) dead() string {
	var b strings.Builder
	for _, s := range e.t.Dead(e, nil) {
		fmt.Fprintf(&b, "dead %v lane=%d [%d,%d]\n", s.Kind, s.Lane, s.First, s.Last)
		delete(e.objs, ref{s.Lane, s.Kind, s.First})
		for id := s.First; id <= s.Last; id++ {
			delete(e.acks, ref{s.Lane, s.Kind, id})
		}
	}
	return b.String()
}

// restart is a crash and Recover (TIERING.md §5): transient records,
// segments and cold acks go; the in-flight and loaded records are ready
// again from the floor on; durable segments below the floor are dead.
func (e *env) restart() string {
	old := e.t
	e.gen++
	e.t = New(7, len(e.lanes), e.gen, e.cfg)
	e.job, e.run, e.issued = nil, nil, nil
	var segs []pebblestore.Segment
	for _, s := range old.Segments(nil) {
		if s.Kind == queue.Spill || s.Last < e.Floor(s.Lane) {
			delete(e.objs, ref{s.Lane, s.Kind, s.First})
			continue
		}
		segs = append(segs, s)
	}
	for li := range e.lanes {
		e.recoverLane(uint8(li))
	}
	if err := e.t.Restore(segs, e); err != nil {
		return "restore: " + err.Error()
	}
	return fmt.Sprintf("restored %d segments", len(segs))
}

// recoverLane rebuilds the lane as queue.Recover does from the meta: the
// durable records left (in Pebble, or in a segment without a cold ack)
// are the disk part, from the floor.
func (e *env) recoverLane(li uint8) {
	floor := e.Floor(li)
	l := &e.lanes[li]
	fresh := newFakeLane()
	fresh.pebble[queue.Durable] = l.pebble[queue.Durable]
	for id, m := range l.pebble[queue.Durable] {
		fresh.disk[queue.Durable] = fresh.disk[queue.Durable].add(Span{1, int64(len(m.Body))})
		_ = id
	}
	for key, obj := range e.objs {
		if key.lane != li || key.kind != queue.Durable {
			continue
		}
		recs, _ := must2(segment.Decode(obj))
		for _, r := range recs {
			if !e.acks[ref{li, queue.Durable, r.ID}] {
				fresh.disk[queue.Durable] = fresh.disk[queue.Durable].add(Span{1, int64(len(r.Msg.Body))})
			}
		}
	}
	for id := range e.acks {
		if id.lane == li && id.kind == queue.Spill {
			delete(e.acks, id)
		}
	}
	fresh.diskFrom = floor
	*l = fresh
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}
