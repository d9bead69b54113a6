package node

import (
	"sync/atomic"

	dto "github.com/prometheus/client_model/go"

	"github.com/warrenmq/warren/api/storage"
)

// Metrics are the node's counters for /metrics. The counters (Appends to
// Fsyncs, and the tier's Tier* but TierStoreUp) only grow; the other
// fields are current.
type Metrics struct {
	Appends       uint64 // messages appended to queues (a fan-out counts per queue)
	Rejected      uint64 // appends refused by reject-publish
	BytesIn       uint64 // body bytes appended
	Delivered     uint64 // deliveries to consumers
	Acked         uint64
	Requeued      uint64
	RejectedByApp uint64 // Settle Reject
	DeadLettered  uint64 // written to the dead-letter outbox
	DeadLetterOut uint64 // handed to the DeadLetterer
	Spilled       uint64 // transient messages written to disk to bound memory
	Loads         uint64 // reads of backlog from disk
	SyncedCommits uint64 // shard batches committed with Sync
	Fsyncs        uint64 // WAL fsyncs (each serves every batch synced with it)

	Queues      uint64
	Sessions    uint64
	Ready       uint64
	Unacked     uint64
	CachedBytes int64

	// Tiering (TIERING.md §7): the rest is zero unless it is on.
	Tiering bool
	// HotBytes and HotMessages are the records of the queues' backlogs
	// only on the node's disk; the bytes count 64 per record more than
	// the bodies, the measure of Tier.HotBytes. ColdBytes (bodies) and
	// ColdMessages are the records in segments, Segments the segment
	// objects and SegmentObjectBytes their sizes.
	HotBytes, HotMessages, ColdBytes, ColdMessages int64
	Segments, SegmentObjectBytes                   int64
	ReadAheadBytes                                 int64 // cached blocks and reads in flight or waiting
	TierStoreUp                                    bool  // false while uploads back off after a failed Put
	HotAlarm                                       bool  // the hot-budget alarm (Node.HotAlarm)
	// Object-store operations that succeeded, with the bytes they moved
	// and the time they took (whose sum the op count divides), and those
	// that failed. Orphans are objects the startup sweep found in no table.
	TierUploads, TierUploadBytes, TierUploadErrors, TierUploadNanos         uint64
	TierDownloads, TierDownloadBytes, TierDownloadErrors, TierDownloadNanos uint64
	TierDeletes, TierDeleteErrors, TierDeleteNanos, TierOrphans             uint64
	// QueueTiers are the queues with the most hot and cold bytes, most
	// first, at most MaxQueueTiers.
	QueueTiers []QueueTier
}

// counters are shared atomics; shards count locally (shardCounters) and add
// once per iteration, so there is no shared write per message.
type counters struct {
	appended, rejected, bytesIn, delivered      atomic.Uint64
	acked, requeued, rejectedByApp              atomic.Uint64
	deadLettered, deadLetterOut, spilled, loads atomic.Uint64
	syncedCommits                               atomic.Uint64
	ready, unacked                              atomic.Int64
}

// shardCounters are a shard's counts of the current iteration.
type shardCounters struct {
	appended, rejected, bytesIn, delivered uint64
	settled                                [3]uint64 // by storage.SettleKind
}

func (s *shard) flushCounters() {
	c := &s.cnt
	m := &s.n.m
	add := func(a *atomic.Uint64, v *uint64) {
		if *v != 0 {
			a.Add(*v)
			*v = 0
		}
	}
	add(&m.appended, &c.appended)
	add(&m.rejected, &c.rejected)
	add(&m.bytesIn, &c.bytesIn)
	add(&m.delivered, &c.delivered)
	add(&m.acked, &c.settled[storage.Ack])
	add(&m.requeued, &c.settled[storage.Requeue])
	add(&m.rejectedByApp, &c.settled[storage.Reject])
}

// Metrics returns the current counters. With tiering it waits for every
// shard to walk its queues once.
func (n *Node) Metrics() Metrics {
	m := &n.m
	n.sessions.mu.Lock()
	sessions := len(n.sessions.all)
	n.sessions.mu.Unlock()
	out := Metrics{
		Appends: m.appended.Load(), Rejected: m.rejected.Load(), BytesIn: m.bytesIn.Load(),
		Delivered: m.delivered.Load(), Acked: m.acked.Load(), Requeued: m.requeued.Load(),
		RejectedByApp: m.rejectedByApp.Load(), DeadLettered: m.deadLettered.Load(),
		DeadLetterOut: m.deadLetterOut.Load(), Spilled: m.spilled.Load(), Loads: m.loads.Load(),
		SyncedCommits: m.syncedCommits.Load(), Fsyncs: n.fsyncs(),
		Queues: uint64(n.reg.count()), Sessions: uint64(sessions),
		Ready: uint64(max(m.ready.Load(), 0)), Unacked: uint64(max(m.unacked.Load(), 0)),
		CachedBytes: n.cached.Load(),
	}
	if n.tier != nil && !n.closed.Load() {
		n.tierMetrics(&out)
	}
	return out
}

// DiskBytes is the space the node's store takes on disk.
func (n *Node) DiskBytes() uint64 {
	if n.closed.Load() {
		return 0
	}
	return n.db.Pebble().Metrics().DiskSpaceUsage()
}

// fsyncs reads Pebble's WAL fsync count from its latency histogram.
func (n *Node) fsyncs() uint64 {
	if n.closed.Load() {
		return 0
	}
	h := n.db.Pebble().Metrics().LogWriter.FsyncLatency
	if h == nil {
		return 0
	}
	var out dto.Metric
	if err := h.Write(&out); err != nil || out.Histogram == nil {
		return 0
	}
	return out.Histogram.GetSampleCount()
}
