package queue

import (
	"fmt"
)

// checkInvariants verifies the counters against the structures they count.
// It returns "" when everything holds.
func checkInvariants(q *Queue) string {
	if q.deleted {
		return ""
	}
	var ready, bytes, cost int64
	inLane := map[uint8]int{}
	for _, f := range q.inflight {
		inLane[f.lane]++
	}
	cold := map[uint8]int64{}
	for _, d := range q.drops {
		if d.cold {
			cold[d.li] += d.n
		} else {
			inLane[d.li]++ // unsettled until its turn
		}
	}
	for li := range q.lanes {
		l := &q.lanes[li]
		lr := int64(len(l.requeued)) + int64(l.mem.len()) + l.diskN() - l.owed
		if lr != l.ready {
			return fmt.Sprintf("lane %d: ready=%d but requeued+mem+disk-owed=%d", li, l.ready, lr)
		}
		if l.owed != cold[uint8(li)] || l.owed > int64(l.mem.len())+l.diskN() {
			return fmt.Sprintf("lane %d: owed=%d, cold drops=%d, mem+disk=%d", li, l.owed, cold[uint8(li)], int64(l.mem.len())+l.diskN())
		}
		if (l.ready > 0) != (q.nonEmpty[li>>6]&(1<<(li&63)) != 0) {
			return fmt.Sprintf("lane %d: nonEmpty bit disagrees with ready=%d", li, l.ready)
		}
		if want := inLane[uint8(li)] + len(l.requeued); l.unsettled.len() != want {
			return fmt.Sprintf("lane %d: unsettled=%d, in flight+requeued=%d", li, l.unsettled.len(), want)
		}
		for _, e := range l.requeued {
			bytes += e.Size()
		}
		for i := 0; i < l.mem.len(); i++ {
			e := l.mem.at(i)
			bytes += e.Size()
			cost += e.cost()
			if i > 0 && l.mem.at(i-1).ID >= e.ID {
				return fmt.Sprintf("lane %d: mem out of order", li)
			}
		}
		if l.mem.len() > 0 && l.diskN() > 0 && l.mem.at(l.mem.len()-1).ID >= l.diskFrom {
			return fmt.Sprintf("lane %d: mem overlaps disk part", li)
		}
		bytes += l.disk[Durable].bytes + l.disk[Spill].bytes
		ready += l.ready
	}
	if ready != q.ready || bytes != q.readyBytes || cost != q.memCost {
		return fmt.Sprintf("queue: ready=%d bytes=%d mem=%d, counted %d %d %d",
			q.ready, q.readyBytes, q.memCost, ready, bytes, cost)
	}
	if q.ready > 0 && q.cons.pick() != nil && q.err == nil && !q.stalled() {
		return "a consumer has credit while messages are ready"
	}
	for li := range q.lanes {
		if l := &q.lanes[li]; l.waiting && (l.mem.len() > 0 || l.diskN() == 0) {
			return fmt.Sprintf("lane %d waits with mem=%d disk=%d", li, l.mem.len(), l.diskN())
		}
	}
	return ""
}
