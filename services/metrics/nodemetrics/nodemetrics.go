// Package nodemetrics renders a storage node's counters for /metrics. It
// is apart from package metrics so that a gateway, which serves metrics
// too, does not link the storage node.
package nodemetrics

import (
	"github.com/warrenmq/warren/services/metrics"
	"github.com/warrenmq/warren/storage-node/node"
)

// Samples renders a storage node's counters.
func Samples(m node.Metrics) []metrics.Sample {
	c := func(name, help string, v uint64) metrics.Sample {
		return metrics.Sample{Name: name, Help: help, Type: "counter", Value: float64(v)}
	}
	g := func(name, help string, v float64) metrics.Sample {
		return metrics.Sample{Name: name, Help: help, Type: "gauge", Value: v}
	}
	return []metrics.Sample{
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
}
