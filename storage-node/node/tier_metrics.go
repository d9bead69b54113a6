package node

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/tier"
)

// MaxQueueTiers bounds Metrics.QueueTiers, so the per-queue series of
// /metrics stay within a thousand queues whatever the node holds.
const MaxQueueTiers = 1000

// QueueTier is one queue's tier figures, as in storage.QueueStats.
type QueueTier struct {
	VHost, Name                                    string
	HotMessages, HotBytes, ColdMessages, ColdBytes uint64
}

func (q *QueueTier) bytes() uint64 { return q.HotBytes + q.ColdBytes }

// opCounter counts one kind of object-store operation: those that
// succeeded, the bytes they moved and the time they took, and those that
// failed. A call ended by the node stopping counts as neither.
type opCounter struct{ ops, bytes, errors, nanos atomic.Uint64 }

func (c *opCounter) done(start time.Time, n int, err error) {
	switch {
	case err == nil:
		c.ops.Add(1)
		c.bytes.Add(uint64(n))
		c.nanos.Add(uint64(time.Since(start)))
	case !errors.Is(err, context.Canceled):
		c.errors.Add(1)
	}
}

// tierOps are the counters of the tier's object-store operations.
type tierOps struct{ put, get, del opCounter }

// meteredStore counts the operations of the store it wraps: the
// uploaders' Puts, the fetchers' GetRanges and the deleter's Deletes.
type meteredStore struct {
	objstore.Store
	ops *tierOps
}

func (m meteredStore) Put(ctx context.Context, key string, body []byte) error {
	start := time.Now()
	err := m.Store.Put(ctx, key, body)
	m.ops.put.done(start, len(body), err)
	return err
}

func (m meteredStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	start := time.Now()
	b, err := m.Store.GetRange(ctx, key, off, n)
	m.ops.get.done(start, len(b), err)
	return b, err
}

func (m meteredStore) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := m.Store.Delete(ctx, key)
	m.ops.del.done(start, 0, err)
	return err
}

// tierMetrics fills m's tier fields. The cold figures and the queues come
// from a walk of every shard's queues, on the shards.
func (n *Node) tierMetrics(m *Metrics) {
	t := n.tier
	m.Tiering = true
	m.HotBytes, m.HotMessages = t.hot.Load(), t.hotN.Load()
	m.ReadAheadBytes = t.readAhead.Load()
	m.TierStoreUp, m.HotAlarm = t.storeUp(), n.HotAlarm()
	o := &t.ops
	m.TierUploads, m.TierUploadBytes = o.put.ops.Load(), o.put.bytes.Load()
	m.TierUploadErrors, m.TierUploadNanos = o.put.errors.Load(), o.put.nanos.Load()
	m.TierDownloads, m.TierDownloadBytes = o.get.ops.Load(), o.get.bytes.Load()
	m.TierDownloadErrors, m.TierDownloadNanos = o.get.errors.Load(), o.get.nanos.Load()
	m.TierDeletes, m.TierDeleteErrors, m.TierDeleteNanos = o.del.ops.Load(), o.del.errors.Load(), o.del.nanos.Load()
	m.TierOrphans = t.del.orphans.Load()
	w := n.walkTiers()
	m.ColdBytes, m.ColdMessages = w.coldBytes, w.coldN
	m.Segments, m.SegmentObjectBytes = w.segments, w.objBytes
	m.QueueTiers = w.top
}

// tierWalk is what a walk of queues sums up, and its top queues.
type tierWalk struct {
	coldBytes, coldN, segments, objBytes int64
	top                                  []QueueTier
}

func (w *tierWalk) add(o tierWalk) {
	w.coldBytes += o.coldBytes
	w.coldN += o.coldN
	w.segments += o.segments
	w.objBytes += o.objBytes
	w.top = append(w.top, o.top...)
}

// walkTiers walks every shard's queues; a shard that stopped first is
// left out.
func (n *Node) walkTiers() tierWalk {
	walks := make(chan tierWalk, len(n.shards))
	for _, s := range n.shards {
		s.post(func(s *shard) { walks <- s.walkTiers() })
	}
	var all tierWalk
collect:
	for range n.shards {
		select {
		case w := <-walks:
			all.add(w)
		case <-n.stopped:
			break collect
		}
	}
	all.top = topQueueTiers(all.top)
	return all
}

// walkTiers sums the shard's queues' tier figures and keeps its top
// queues.
func (s *shard) walkTiers() tierWalk {
	var w tierWalk
	for _, qs := range s.queues {
		if qs.tq == nil {
			continue
		}
		ts := qs.tq.Stats()
		w.coldBytes += ts.Cold.Bytes
		w.coldN += ts.Cold.N
		w.segments += int64(ts.Segments)
		w.objBytes += ts.ObjectBytes
		q := queueTier(ts)
		q.VHost, q.Name = qs.q.Spec().VHost, qs.q.Spec().Name
		w.top = append(w.top, q)
	}
	w.top = topQueueTiers(w.top)
	return w
}

// topQueueTiers sorts qs by hot plus cold bytes, most first (then by
// vhost and name, so the cut is stable), and keeps MaxQueueTiers.
func topQueueTiers(qs []QueueTier) []QueueTier {
	slices.SortFunc(qs, func(a, b QueueTier) int {
		return cmp.Or(cmp.Compare(b.bytes(), a.bytes()), cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.Name, b.Name))
	})
	return qs[:min(len(qs), MaxQueueTiers)]
}

// queueTier is a queue's figures from its tier stats: hot bytes in the
// hot budget's measure (tier.Span.Weight), cold bytes as bodies.
func queueTier(ts tier.Stats) QueueTier {
	return QueueTier{HotMessages: nonNeg(ts.Hot.N), HotBytes: nonNeg(ts.Hot.Weight()),
		ColdMessages: nonNeg(ts.Cold.N), ColdBytes: nonNeg(ts.Cold.Bytes)}
}

// queueStats is the queue's QueueStats with its tier figures.
func queueStats(qs *qstate) storage.QueueStats {
	st := qs.q.Stats()
	if qs.tq == nil {
		return st
	}
	ts := qs.tq.Stats()
	q := queueTier(ts)
	st.HotMessages, st.HotBytes, st.ColdMessages, st.ColdBytes = q.HotMessages, q.HotBytes, q.ColdMessages, q.ColdBytes
	st.Segments = uint64(ts.Segments)
	return st
}

func nonNeg(v int64) uint64 { return uint64(max(v, 0)) }
