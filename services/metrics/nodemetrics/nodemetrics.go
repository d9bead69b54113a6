// Package nodemetrics renders a storage node's counters for /metrics. It
// is apart from package metrics so that a gateway, which serves metrics
// too, does not link the storage node.
package nodemetrics

import (
	"github.com/warrenmq/warren/services/metrics"
	"github.com/warrenmq/warren/storage-node/node"
)

func counter(name, help string, v uint64) metrics.Sample {
	return metrics.Sample{Name: name, Help: help, Type: "counter", Value: float64(v)}
}

func gauge(name, help string, v float64) metrics.Sample {
	return metrics.Sample{Name: name, Help: help, Type: "gauge", Value: v}
}

// Samples renders a storage node's counters; with tiering, also the
// tier's (TIERING.md §7).
func Samples(m node.Metrics) []metrics.Sample {
	c, g := counter, gauge
	out := []metrics.Sample{
		c("warren_messages_appended_total", "Messages appended to queues (fan-out counts per queue).", m.Appends),
		c("warren_messages_rejected_total", "Appends refused by reject-publish.", m.Rejected),
		c("warren_bytes_appended_total", "Body bytes appended.", m.BytesIn),
		c("warren_messages_delivered_total", "Deliveries to consumers.", m.Delivered),
		c("warren_messages_acked_total", "Deliveries acknowledged.", m.Acked),
		c("warren_messages_requeued_total", "Deliveries requeued.", m.Requeued),
		c("warren_messages_dead_lettered_total", "Messages dead-lettered.", m.DeadLettered),
		c("warren_fsyncs_total", "WAL fsyncs; each serves every batch synced with it.", m.Fsyncs),
		c("warren_synced_commits_total", "Storage batches committed with fsync.", m.SyncedCommits),
		g("warren_queues", "Queues on the storage node.", float64(m.Queues)),
		g("warren_messages_ready", "Messages ready for delivery.", float64(m.Ready)),
		g("warren_messages_unacked", "Messages delivered and not yet acknowledged.", float64(m.Unacked)),
		g("warren_cached_bytes", "Message bytes held in memory by the storage node.", float64(m.CachedBytes)),
	}
	if m.Tiering {
		out = append(out, tierSamples(&m)...)
		out = append(out, queueTierSamples(m.QueueTiers)...)
	}
	return out
}

// tierSamples renders the tier's gauges, counters and latencies.
func tierSamples(m *node.Metrics) []metrics.Sample {
	c, g := counter, gauge
	out := []metrics.Sample{
		g("warren_tier_hot_bytes", "Bytes of queue backlogs only on the node's disk (bodies plus 64 per message, the hot budget's measure).", float64(m.HotBytes)),
		g("warren_tier_hot_messages", "Messages of queue backlogs only on the node's disk.", float64(m.HotMessages)),
		g("warren_tier_cold_bytes", "Body bytes of queue backlogs in the object store.", float64(m.ColdBytes)),
		g("warren_tier_cold_messages", "Messages of queue backlogs in the object store.", float64(m.ColdMessages)),
		g("warren_tier_segments", "Segment objects in the object store.", float64(m.Segments)),
		g("warren_tier_segment_object_bytes", "Bytes of the segment objects.", float64(m.SegmentObjectBytes)),
		g("warren_tier_read_ahead_bytes", "Bytes of segment blocks cached or being read.", float64(m.ReadAheadBytes)),
		g("warren_tier_store_up", "0 while uploads back off after a failed write to the object store.", bit(m.TierStoreUp)),
		g("warren_tier_hot_alarm", "1 while the hot bytes are over the node's budget (publishers are blocked as low on disk).", bit(m.HotAlarm)),
		c("warren_tier_uploads_total", "Segment objects written.", m.TierUploads),
		c("warren_tier_upload_bytes_total", "Bytes of segment objects written.", m.TierUploadBytes),
		c("warren_tier_upload_errors_total", "Failed object writes.", m.TierUploadErrors),
		c("warren_tier_downloads_total", "Ranged object reads.", m.TierDownloads),
		c("warren_tier_download_bytes_total", "Bytes read from objects.", m.TierDownloadBytes),
		c("warren_tier_download_errors_total", "Failed object reads.", m.TierDownloadErrors),
		c("warren_tier_deletes_total", "Objects deleted.", m.TierDeletes),
		c("warren_tier_delete_errors_total", "Failed object deletes.", m.TierDeleteErrors),
		c("warren_tier_orphans_total", "Objects found at startup in no table and no intent.", m.TierOrphans),
	}
	out = append(out, latency("upload", "Time of successful object writes.", m.TierUploadNanos, m.TierUploads)...)
	out = append(out, latency("download", "Time of successful object reads.", m.TierDownloadNanos, m.TierDownloads)...)
	return append(out, latency("delete", "Time of successful object deletes.", m.TierDeleteNanos, m.TierDeletes)...)
}

// latency renders warren_tier_<op>_seconds as a summary: the sum of the
// operations' times and their count.
func latency(op, help string, nanos, count uint64) []metrics.Sample {
	name := "warren_tier_" + op + "_seconds"
	return []metrics.Sample{
		{Name: name + "_sum", Help: help, Type: "summary", Value: float64(nanos) / 1e9},
		{Name: name + "_count", Help: help, Type: "summary", Value: float64(count)},
	}
}

// queueTierSamples renders warren_queue_{hot,cold}_{bytes,messages} of
// the queues the node reports (the most loaded, a bounded number).
func queueTierSamples(qs []node.QueueTier) []metrics.Sample {
	out := make([]metrics.Sample, 0, 4*len(qs))
	for _, f := range []struct {
		name, help string
		v          func(*node.QueueTier) uint64
	}{
		{"warren_queue_hot_bytes", "Bytes of the queue's backlog only on the node's disk (bodies plus 64 per message).",
			func(q *node.QueueTier) uint64 { return q.HotBytes }},
		{"warren_queue_hot_messages", "Messages of the queue's backlog only on the node's disk.",
			func(q *node.QueueTier) uint64 { return q.HotMessages }},
		{"warren_queue_cold_bytes", "Body bytes of the queue's backlog in the object store.",
			func(q *node.QueueTier) uint64 { return q.ColdBytes }},
		{"warren_queue_cold_messages", "Messages of the queue's backlog in the object store.",
			func(q *node.QueueTier) uint64 { return q.ColdMessages }},
	} {
		for i := range qs {
			q := &qs[i]
			out = append(out, metrics.Sample{Name: f.name, Help: f.help, Type: "gauge",
				Labels: map[string]string{"vhost": q.VHost, "queue": q.Name}, Value: float64(f.v(q))})
		}
	}
	return out
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
