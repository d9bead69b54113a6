package tier

import "github.com/warrenmq/warren/storage-node/queue"

// hotOf is the hot part of the disk part disk of lane li and kind k: what
// is only in Pebble. A kind with an empty disk part has nothing cold
// either, which resets an estimate that drifted (after a restart it
// counts records acked before the crash).
func (t *Queue) hotOf(li uint8, k queue.Stored, disk Span) Span {
	ks := t.kind(li, k)
	if disk.N == 0 {
		ks.cold = Span{}
	}
	return disk.sub(ks.cold.clampTo(disk))
}

// diskOf is the disk part of lane li and kind k.
func diskOf(src Source, li uint8, k queue.Stored) Span {
	_, durable, spill := src.Disk(li)
	if k == queue.Durable {
		return durable
	}
	return spill
}

// hotSpan is the queue's hot records, all lanes and kinds.
func (t *Queue) hotSpan(src Source) Span {
	var hot Span
	for li := range t.lanes {
		_, durable, spill := src.Disk(uint8(li))
		hot = hot.add(t.hotOf(uint8(li), queue.Durable, durable))
		hot = hot.add(t.hotOf(uint8(li), queue.Spill, spill))
	}
	return hot
}

// Account brings the estimates up to date with the queue's disk parts and
// returns the change of the queue's hot records since the last call: the
// shard adds delta.Weight() to the node's hot bytes (and delta.N to its
// hot messages) in shard.account, like ready.
func (t *Queue) Account(src Source) (delta Span) {
	hot := t.hotSpan(src)
	var disk Span
	for li := range t.lanes {
		_, durable, spill := src.Disk(uint8(li))
		disk = disk.add(durable).add(spill)
	}
	delta = hot.sub(t.hot)
	t.hot, t.cold = hot, disk.sub(hot)
	return delta
}

// Hot is the queue's hot records as of the last Account: the node's scan
// offloads the queues with the most first.
func (t *Queue) Hot() Span { return t.hot }

// Stats are the tier's figures of the queue, for metrics and QueueStats.
type Stats struct {
	Hot, Cold   Span  // as of the last Account
	Segments    int   // table entries
	ObjectBytes int64 // their objects' sizes
	ReadAhead   int64 // bytes of cached blocks, indexes and pending reads
}

// Stats returns the queue's figures.
func (t *Queue) Stats() Stats {
	return Stats{Hot: t.hot, Cold: t.cold, Segments: t.segments, ObjectBytes: t.objBytes, ReadAhead: t.readAhead}
}

// ReadAheadBytes is what the queue's reads hold or wait for: the node
// charges its changes to the node-wide ReadAheadBytes.
func (t *Queue) ReadAheadBytes() int64 { return t.readAhead }
