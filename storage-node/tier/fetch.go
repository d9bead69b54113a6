package tier

import (
	"fmt"
	"sort"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/segment"
)

// Fetch is one ranged read of a segment object for the fetcher.
//
// With Index nil it reads the index: GetRange(Seg.IndexOff, -1), then
// segment.ReadTrailer and ReadIndex. Otherwise it reads records [I, J) of
// Index: Index.Range, GetRange, Index.Records, drops the records that
// have a cold ack (DB.ColdAcks over their IDs), and copies each one into
// its own message, so one message never pins a whole block's buffer.
//
// Every Fetch handed out goes back to Fetched exactly once, also when it
// failed for good; transient errors are the fetcher's to retry.
type Fetch struct {
	Gen, Seq uint64
	Seg      pebblestore.Segment
	Index    *segment.Index
	I, J     int
	// Bytes is the read-ahead the read holds until its records are
	// consumed or dropped: for a block, its bytes plus the heap overhead of
	// its entries (their actual cost once they arrive); for an index, the
	// object's tail.
	Bytes int64
}

// FetchResult is what the fetcher posts back for a Fetch.
type FetchResult struct {
	Fetch   Fetch
	Index   *segment.Index // an index read's index
	Entries []queue.Entry  // a block read's records without a cold ack, ascending
	// Err is a read that failed for good (segment.ErrCorrupt, a missing
	// object with a live table entry): the lane's next Load returns it.
	Err error
}

// Fetches appends to dst the reads lane li needs next: the index of a
// segment it is about to read, then blocks of about FetchBytes, in ID
// order across the two kinds, while the lane's cached and pending reads
// stay under QueueReadAheadBytes. A kind with no block cached or pending
// always gets one, so a lane waiting in Avail always has its read issued:
// a lane holds at most QueueReadAheadBytes plus one block per kind, plus
// indexes. Call it after every Load of the lane and every Fetched.
func (t *Queue) Fetches(li uint8, dst []Fetch) []Fetch {
	if int(li) >= len(t.lanes) {
		return dst
	}
	for {
		k, id, i := t.nextRead(li)
		if k == nil {
			return dst
		}
		dst = append(dst, t.issue(li, k, id, i))
	}
}

// nextRead is the kind to read next, with the first ID no read covers
// and its segment: of the kinds that may read now, the one whose ID is
// lowest, since Load needs it first.
func (t *Queue) nextRead(li uint8) (*kindState, storage.MsgID, int) {
	l := &t.lanes[li]
	var best *kindState
	var bestID storage.MsgID
	var bestSeg int
	for ki := range l.kinds {
		k := &l.kinds[ki]
		if k.read.err != nil || k.read.ixSeq != 0 {
			continue // failed, or waiting for its index
		}
		if l.readAhead >= t.cfg.QueueReadAheadBytes && len(k.read.blocks) > 0 {
			continue
		}
		id, i := k.uncovered(l.pos, true)
		if i < len(k.segs) && (best == nil || id < bestID) {
			best, bestID, bestSeg = k, id, i
		}
	}
	return best, bestID, bestSeg
}

// issue hands out the read of k at id, in segment i: its index first.
func (t *Queue) issue(li uint8, k *kindState, id storage.MsgID, i int) Fetch {
	l := &t.lanes[li]
	r := &k.read
	s := k.segs[i].Segment
	t.seq++
	f := Fetch{Gen: t.gen, Seq: t.seq, Seg: s}
	if r.ix == nil || r.ixFirst != s.First {
		t.dropIndex(l, r) // planning moved on: the old index is done with
		f.Bytes = s.ObjSize - s.IndexOff
		r.ixFirst, r.ixSeq, r.ixBytes = s.First, f.Seq, f.Bytes
		t.charge(l, f.Bytes)
		return f
	}
	f.Index, f.I = r.ix, r.ix.Search(id)
	f.J = blockEnd(r.ix, f.I, t.cfg.FetchBytes)
	_, n := r.ix.Range(f.I, f.J)
	f.Bytes = n + int64(f.J-f.I)*entryOverhead // about what the entries will cost
	end := s.Last + 1
	if f.J < r.ix.Len() {
		end = r.ix.ID(f.J)
	}
	r.dropFrom(id, func(b *block) { t.charge(l, -b.bytes) })
	r.blocks = append(r.blocks, block{seq: f.Seq, first: s.First, from: id, end: end, pending: true, bytes: f.Bytes})
	t.charge(l, f.Bytes)
	return f
}

// dropFrom drops the blocks starting at or past id, so that the blocks
// stay ascending and contiguous: before planning a block at id (later
// blocks are never expected), or when the block at id failed.
func (r *reads) dropFrom(id storage.MsgID, freed func(*block)) {
	n := len(r.blocks)
	for n > 0 && r.blocks[n-1].from >= id {
		n--
		freed(&r.blocks[n])
	}
	clear(r.blocks[n:])
	r.blocks = r.blocks[:n]
}

// blockEnd is the end J of the block that starts at record i: the most
// records whose bytes stay within fetchBytes, and at least one.
func blockEnd(ix *segment.Index, i int, fetchBytes int64) int {
	d := sort.Search(ix.Len()-i, func(d int) bool {
		_, n := ix.Range(i, i+1+d)
		return n > fetchBytes
	})
	return i + max(1, d)
}

// Fetched applies a fetch result and reports whether the queue should
// Resume: the lane waits in Avail and may now go on (or will now see the
// error). A result for a dropped queue, a purged lane or a superseded
// read is dropped: nothing changes, and its Bytes were already released
// (ReadAheadBytes went down when the read was dropped).
func (t *Queue) Fetched(res FetchResult) (wake bool) {
	f := &res.Fetch
	k := t.kind(f.Seg.Lane, f.Seg.Kind)
	if t.dropped || f.Gen != t.gen || k == nil {
		return false
	}
	l := &t.lanes[f.Seg.Lane]
	var ok bool
	if f.Index == nil {
		ok = t.indexFetched(l, k, &res)
	} else {
		ok = t.blockFetched(l, k, &res)
	}
	if !ok || !l.stalled || !t.unblocked(l) {
		return false
	}
	l.stalled = false
	return true
}

// indexFetched keeps the index the lane waits for, checked against the
// table entry: an object that isn't what the table says is corrupt.
func (t *Queue) indexFetched(l *lane, k *kindState, res *FetchResult) bool {
	r, s := &k.read, &res.Fetch.Seg
	if r.ixSeq == 0 || r.ixSeq != res.Fetch.Seq {
		return false
	}
	ix, err := res.Index, res.Err
	if err == nil && (ix == nil || int64(ix.Len()) != s.Count || ix.ID(0) != s.First || ix.ID(ix.Len()-1) != s.Last) {
		err = fmt.Errorf("segment %d/%d/%d: index does not match its table entry: %w", s.Queue, s.Lane, s.First, segment.ErrCorrupt)
	}
	t.dropIndex(l, r)
	if err != nil {
		r.err = err
		return true
	}
	r.ix, r.ixFirst, r.ixBytes = ix, s.First, int64(ix.Len())*segment.IndexEntrySize+segment.TrailerSize
	t.charge(l, r.ixBytes)
	return true
}

// blockFetched turns the pending block into a cached one. A failed block
// ends the kind's reads: the blocks past it are dropped too.
func (t *Queue) blockFetched(l *lane, k *kindState, res *FetchResult) bool {
	r := &k.read
	i := r.find(res.Fetch.Seq)
	if i < 0 {
		return false
	}
	b := &r.blocks[i]
	err := res.Err
	if err == nil {
		err = checkBlock(b, res.Entries, res.Fetch.Seg.Kind)
	}
	if err != nil {
		r.dropFrom(b.from, func(b *block) { t.charge(l, -b.bytes) })
		r.err = err
		return true
	}
	var bytes int64
	for i := range res.Entries {
		bytes += cost(&res.Entries[i])
	}
	t.charge(l, bytes-b.bytes)
	b.pending, b.entries, b.bytes = false, res.Entries, bytes
	return true
}

// find is the position of the pending block with ticket seq, -1 if none.
func (r *reads) find(seq uint64) int {
	for i := range r.blocks {
		if r.blocks[i].seq == seq && r.blocks[i].pending {
			return i
		}
	}
	return -1
}

// checkBlock checks that a block's entries are what the block covers,
// ascending, and marks their kind.
func checkBlock(b *block, es []queue.Entry, kind queue.Stored) error {
	for i := range es {
		if es[i].ID < b.from || es[i].ID >= b.end || (i > 0 && es[i].ID <= es[i-1].ID) || es[i].Msg == nil {
			return fmt.Errorf("block [%d, %d) of segment %d: record %d out of place: %w", b.from, b.end, b.first, es[i].ID, segment.ErrCorrupt)
		}
		es[i].Stored = kind
	}
	return nil
}

// unblocked reports whether the kinds the lane's Load waits for are
// readable at its position now (or failed).
func (t *Queue) unblocked(l *lane) bool {
	for ki := range l.kinds {
		k := &l.kinds[ki]
		if !l.stallKinds.Has(kindAt(ki)) || k.read.err != nil {
			continue
		}
		if u, _ := k.uncovered(l.pos, false); u <= l.pos {
			return false
		}
	}
	return true
}
