package tier

import (
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Merge is step 2 of a Load of lane li at from: recs are the Pebble
// records of kinds with from <= ID < end (DB.Load with the Load's kinds,
// maxCount and maxBytes), where end is at most the bound Avail returned.
// Merge appends to dst those records and the cached ones below end, in ID
// order, up to maxCount records or until maxBytes of bodies are read (at
// least one record), as DB.Load does. The cached records it returns
// leave the cache and the cold estimate; the segments the lane has read
// past are marked for the dead check.
//
// Nothing appended with end < to means [from, end) held only acked
// records (after a restart a block may be all acked): the loader goes on
// with from = end instead of reporting an empty disk part.
func (t *Queue) Merge(li uint8, kinds queue.StoredMask, from, end storage.MsgID, recs []queue.Entry,
	maxCount int, maxBytes int64, dst []queue.Entry) []queue.Entry {
	if int(li) >= len(t.lanes) {
		return append(dst, recs...)
	}
	t.advance(li, from)
	l := &t.lanes[li]
	// A bound past Avail's would skip cold records: the Load would lose
	// them. Cheap to enforce.
	end = min(end, t.bound(l, kinds))
	var cur [2]cursor
	for ki := range cur {
		if kinds.Has(kindAt(ki)) {
			cur[ki].r = &l.kinds[ki].read
		}
	}
	// When Pebble's answer was cut at maxCount or maxBytes, the merged
	// answer is full by its last record, so no cached record past it can
	// come before a Pebble record left unread.
	start := len(dst)
	dst = t.mergeInto(l, recs, &cur, end, maxCount, maxBytes, dst)
	pos := end
	if len(dst) > start {
		pos = dst[len(dst)-1].ID + 1 // the queue's next diskFrom
	}
	t.advance(li, pos)
	return dst
}

// mergeInto appends the lowest entries below limit of recs and the
// cursors, within maxCount and maxBytes; served cached ones leave the
// cold estimate (advance frees them).
func (t *Queue) mergeInto(l *lane, recs []queue.Entry, cur *[2]cursor, limit storage.MsgID,
	maxCount int, maxBytes int64, dst []queue.Entry) []queue.Entry {
	var read int64
	for n, r := 0, 0; n < maxCount && (read < maxBytes || n == 0); n++ {
		var c *queue.Entry
		ki := lowest(recs, r, cur, limit)
		switch ki {
		case -2:
			return dst
		case -1:
			c = &recs[r]
			r++
		default:
			c = cur[ki].take()
			k := &l.kinds[ki]
			k.cold = Span{max(0, k.cold.N-1), max(0, k.cold.Bytes-c.Size())}
		}
		dst = append(dst, *c)
		read += c.Size()
	}
	return dst
}

// lowest says where the lowest entry below limit is: -1 for recs[r], a
// cursor's index, or -2 for none. A cached record that Pebble also
// returned (never expected: the commit deletes them) is skipped.
func lowest(recs []queue.Entry, r int, cur *[2]cursor, limit storage.MsgID) int {
	best, at := limit, -2
	if r < len(recs) && recs[r].ID < limit {
		best, at = recs[r].ID, -1
	}
	for ki := range cur {
		e := cur[ki].peek(limit)
		if e != nil && at == -1 && e.ID == best {
			cur[ki].take()
			e = cur[ki].peek(limit)
		}
		if e != nil && e.ID < best {
			best, at = e.ID, ki
		}
	}
	return at
}

// cursor walks one kind's cached entries in ID order.
type cursor struct {
	r    *reads // nil for a kind the Load didn't select
	b, e int
}

// peek is the cursor's next entry below limit, nil when none is cached.
func (c *cursor) peek(limit storage.MsgID) *queue.Entry {
	for c.r != nil && c.b < len(c.r.blocks) && !c.r.blocks[c.b].pending {
		if es := c.r.blocks[c.b].entries; c.e < len(es) {
			if es[c.e].ID < limit {
				return &es[c.e]
			}
			return nil
		}
		c.b, c.e = c.b+1, 0
	}
	return nil
}

func (c *cursor) take() *queue.Entry {
	e := &c.r.blocks[c.b].entries[c.e]
	c.e++
	return e
}
