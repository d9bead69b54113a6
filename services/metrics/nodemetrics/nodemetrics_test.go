package nodemetrics

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/services/metrics"
	"github.com/warrenmq/warren/storage-node/node"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// TestTieredGolden renders every tier series of a node.Metrics value
// against testdata/tiered.txt (go test -rewrite after checking a change).
func TestTieredGolden(t *testing.T) {
	m := node.Metrics{
		Appends: 1, Tiering: true,
		HotBytes: 1 << 20, HotMessages: 100, ColdBytes: 5 << 20, ColdMessages: 500,
		Segments: 3, SegmentObjectBytes: 6 << 20, ReadAheadBytes: 4096, TierStoreUp: true, HotAlarm: false,
		TierUploads: 3, TierUploadBytes: 6 << 20, TierUploadErrors: 1, TierUploadNanos: 1_500_000_000,
		TierDownloads: 7, TierDownloadBytes: 1 << 20, TierDownloadErrors: 2, TierDownloadNanos: 70_000_000,
		TierDeletes: 2, TierDeleteErrors: 0, TierDeleteNanos: 20_000_000, TierOrphans: 1,
		QueueTiers: []node.QueueTier{
			{VHost: "/", Name: "big", HotMessages: 90, HotBytes: 900_000, ColdMessages: 500, ColdBytes: 5 << 20},
			{VHost: "v", Name: `a"b`, HotMessages: 10, HotBytes: 148_576},
		},
	}
	got := metrics.Render(Samples(m))
	const golden = "testdata/tiered.txt"
	if *rewrite {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// TestUntieredHasNoTierSeries: a node without tiering reports no tier
// series (a store-up of 0 would page someone).
func TestUntieredHasNoTierSeries(t *testing.T) {
	out := metrics.Render(Samples(node.Metrics{Appends: 1}))
	if strings.Contains(out, "warren_tier_") || strings.Contains(out, "warren_queue_") {
		t.Fatalf("untiered node renders tier series:\n%s", out)
	}
}

// TestNodeSeries renders a tiered node's own metrics: its queue's
// backlog, moved to the object store, shows in the node and queue series.
func TestNodeSeries(t *testing.T) {
	opts := node.Options{FS: vfs.NewMem(), Shards: 2, DiskFreeLimit: -1, ObjectStore: objstoretest.NewMem(),
		CacheBytes: 1, QueueCacheBytes: 1, QueueMinCacheBytes: 1}
	opts.Tier.QueueHotBytes, opts.Tier.MinSegmentBytes, opts.Tier.SegmentBytes = 1, 1, 300
	n, err := node.Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	spec := storage.QueueSpec{ID: 1, VHost: "/", Name: "q", Durable: true, MessageTTL: -1, Expires: -1,
		MaxLength: -1, MaxLengthBytes: -1}
	if err := n.CreateQueue(ctx, spec); err != nil {
		t.Fatal(err)
	}
	var pubs []storage.Publish
	for range 10 {
		pubs = append(pubs, storage.Publish{Queues: []storage.QueueID{1},
			Msg: &storage.Message{Body: []byte("0123456789"), Persistent: true, TTL: -1}})
	}
	if _, err := n.Append(ctx, pubs); err != nil {
		t.Fatal(err)
	}
	// Uploads finish after Append returns, and the node's hot figure is
	// brought up to date at the end of the shard's next iteration: wait
	// for both.
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		out = metrics.Render(Samples(n.Metrics()))
		if strings.Contains(out, `warren_queue_cold_messages{queue="q",vhost="/"} 10`+"\n") &&
			strings.Contains(out, "warren_tier_hot_messages 0\n") {
			break
		}
		if time.Now().After(deadline) {
			break // the checks below say what is missing
		}
	}
	for _, line := range []string{
		"warren_tier_cold_messages 10\n",
		"warren_tier_cold_bytes 100\n",
		"warren_tier_hot_bytes 0\n",
		"warren_tier_store_up 1\n",
		`warren_queue_cold_bytes{queue="q",vhost="/"} 100` + "\n",
		`warren_queue_hot_messages{queue="q",vhost="/"} 0` + "\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("no %q in\n%s", line, out)
		}
	}
}
