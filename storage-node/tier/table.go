package tier

import (
	"fmt"
	"sort"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
)

// Span counts records and their body bytes.
type Span struct{ N, Bytes int64 }

// Weight is the hot measure of the span: body bytes plus RecordOverhead
// per record.
func (s Span) Weight() int64 { return s.Bytes + RecordOverhead*s.N }

func (s Span) add(o Span) Span { return Span{s.N + o.N, s.Bytes + o.Bytes} }
func (s Span) sub(o Span) Span { return Span{s.N - o.N, s.Bytes - o.Bytes} }

// clampTo is s with each field at most the one of o and at least zero.
func (s Span) clampTo(o Span) Span {
	return Span{max(0, min(s.N, o.N)), max(0, min(s.Bytes, o.Bytes))}
}

// entry is a segment table entry with its dead-check mark.
type entry struct {
	pebblestore.Segment
	marked bool
}

// kindState is one lane's tier state for one record kind.
type kindState struct {
	segs []entry // the table: ascending, non-overlapping [First, Last]
	// cold estimates the disk-part records that live in segs (see
	// Queue.Account); it is clamped to the disk part where it is read.
	cold Span
	// hotFrom: no hot record of the kind has an ID below it (past the
	// last segment, or past an upload that found nothing), so an upload
	// starts there at the earliest.
	hotFrom storage.MsgID
	read    reads
}

// search is the position of the first segment with Last >= id.
func (k *kindState) search(id storage.MsgID) int {
	return sort.Search(len(k.segs), func(i int) bool { return k.segs[i].Last >= id })
}

// locate is the position of the segment holding id. The compare against
// the whole cold range first keeps the common case (a hot ID) O(1).
func (k *kindState) locate(id storage.MsgID) (int, bool) {
	n := len(k.segs)
	if n == 0 || id < k.segs[0].First || id > k.segs[n-1].Last {
		return 0, false
	}
	i := k.search(id)
	return i, i < n && k.segs[i].First <= id
}

// find is the position of the segment starting at first.
func (k *kindState) find(first storage.MsgID) (int, bool) {
	i := k.search(first)
	return i, i < len(k.segs) && k.segs[i].First == first
}

// add appends s, which must start past the last segment: uploads of a
// lane and kind cover increasing ranges (Pick starts at hotFrom).
func (k *kindState) add(s *pebblestore.Segment) error {
	if n := len(k.segs); n > 0 && s.First <= k.segs[n-1].Last {
		return fmt.Errorf("segment [%d, %d] of lane %d overlaps or precedes [%d, %d]",
			s.First, s.Last, s.Lane, k.segs[n-1].First, k.segs[n-1].Last)
	}
	k.segs = append(k.segs, entry{Segment: *s})
	k.hotFrom = max(k.hotFrom, s.Last+1)
	return nil
}

func (k *kindState) remove(i int) {
	k.segs = append(k.segs[:i], k.segs[i+1:]...)
}
