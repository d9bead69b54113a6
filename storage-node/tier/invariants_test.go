package tier

import "fmt"

// checkInvariants returns what is wrong with t's state, "" when nothing.
func checkInvariants(t *Queue) string {
	var segs int
	var objBytes, total int64
	marked := map[ref]bool{}
	for _, r := range t.marks {
		marked[r] = true
	}
	for li := range t.lanes {
		l := &t.lanes[li]
		var laneBytes int64
		for ki := range l.kinds {
			k := &l.kinds[ki]
			if msg := checkTable(t, uint8(li), ki, k, marked); msg != "" {
				return msg
			}
			segs += len(k.segs)
			for _, s := range k.segs {
				objBytes += s.ObjSize
			}
			n, msg := checkReads(k)
			if msg != "" {
				return fmt.Sprintf("lane %d %v: %s", li, kindAt(ki), msg)
			}
			laneBytes += n
		}
		if laneBytes != l.readAhead {
			return fmt.Sprintf("lane %d charged %d, holds %d", li, l.readAhead, laneBytes)
		}
		total += laneBytes
	}
	switch {
	case segs != t.segments || objBytes != t.objBytes:
		return fmt.Sprintf("counted %d segments of %d bytes, tables hold %d of %d", t.segments, t.objBytes, segs, objBytes)
	case total != t.readAhead:
		return fmt.Sprintf("queue charged %d, lanes %d", t.readAhead, total)
	}
	return ""
}

func checkTable(t *Queue, li uint8, ki int, k *kindState, marked map[ref]bool) string {
	for i, s := range k.segs {
		switch {
		case s.Queue != t.id || s.Lane != li || s.Kind != kindAt(ki):
			return fmt.Sprintf("segment %d/%d/%v in table %d/%d/%v", s.Queue, s.Lane, s.Kind, t.id, li, kindAt(ki))
		case s.First > s.Last || (i > 0 && s.First <= k.segs[i-1].Last):
			return fmt.Sprintf("lane %d table out of order at [%d,%d]", li, s.First, s.Last)
		case s.marked != marked[ref{li, kindAt(ki), s.First}]:
			return fmt.Sprintf("segment [%d,%d] marked=%v, in marks=%v", s.First, s.Last, s.marked, !s.marked)
		case s.Last >= k.hotFrom:
			return fmt.Sprintf("segment [%d,%d] at or past hotFrom %d", s.First, s.Last, k.hotFrom)
		}
	}
	if k.cold.N < 0 || k.cold.Bytes < 0 {
		return fmt.Sprintf("cold %v below zero", k.cold)
	}
	return ""
}

// checkReads checks the blocks and returns the bytes they hold.
func checkReads(k *kindState) (int64, string) {
	r := &k.read
	n := r.ixBytes
	for i, b := range r.blocks {
		seg, ok := k.find(b.first)
		switch {
		case !ok || b.from < k.segs[seg].First || b.end > k.segs[seg].Last+1 || b.from >= b.end:
			return 0, fmt.Sprintf("block [%d,%d) outside its segment %d", b.from, b.end, b.first)
		case i > 0 && b.from < r.blocks[i-1].end:
			return 0, fmt.Sprintf("block [%d,%d) overlaps the one before", b.from, b.end)
		case b.pending && len(b.entries) > 0:
			return 0, fmt.Sprintf("pending block [%d,%d) holds entries", b.from, b.end)
		}
		var c int64
		for j := range b.entries {
			c += cost(&b.entries[j])
		}
		if !b.pending && c != b.bytes {
			return 0, fmt.Sprintf("block [%d,%d) charged %d, holds %d", b.from, b.end, b.bytes, c)
		}
		n += b.bytes
	}
	return n, ""
}
