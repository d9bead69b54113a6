package node

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
	"github.com/warrenmq/warren/storage-node/tier"
)

// weightOf is the hot measure of bodies: body bytes plus the record
// overhead of each.
func weightOf(bodies []string) (n, bytes, weight int64) {
	for _, b := range bodies {
		bytes += int64(len(b))
	}
	n = int64(len(bodies))
	return n, bytes, bytes + n*tier.RecordOverhead
}

// TestTierMetricsHot: a queue under its thresholds keeps its backlog hot;
// Metrics and Stats count it in the hot budget's measure.
func TestTierMetricsHot(t *testing.T) {
	opts := tinyTier(objstoretest.NewMem())
	opts.Tier.QueueHotBytes = 1 << 30
	n, _ := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	bs := seqBodies("m", 20)
	publish(t, n, 1, true, bs...)
	tierIdle(t, n)
	msgs, _, weight := weightOf(bs)
	m := n.Metrics()
	if !m.Tiering || m.HotBytes != weight || m.HotMessages != msgs || m.ColdMessages != 0 || m.Segments != 0 ||
		!m.TierStoreUp || m.HotAlarm || m.TierUploads != 0 {
		t.Fatalf("metrics %+v, want %d hot bytes in %d messages", m, weight, msgs)
	}
	st, err := n.Stats(bg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st.HotBytes != uint64(weight) || st.HotMessages != uint64(msgs) || st.ColdBytes != 0 || st.Segments != 0 {
		t.Fatalf("stats %+v", st)
	}
	want := []QueueTier{{VHost: "/", Name: "q", HotMessages: uint64(msgs), HotBytes: uint64(weight)}}
	if fmt.Sprint(m.QueueTiers) != fmt.Sprint(want) {
		t.Fatalf("queue tiers %+v, want %+v", m.QueueTiers, want)
	}
}

// TestTierMetricsColdAndOps: a backlog moved to segments shows as cold in
// Metrics and Stats, the store's calls as uploads and downloads, and a
// drained queue as nothing.
func TestTierMetricsColdAndOps(t *testing.T) {
	st := objstoretest.NewMem()
	n, _ := testNode(t, tinyTier(st))
	mustCreate(t, n, durable(1, "q"))
	mustCreate(t, n, durable(2, "small"))
	bs := seqBodies("m", 20)
	publish(t, n, 1, true, bs...)
	publish(t, n, 2, true, "x")
	tierIdle(t, n)

	msgs, bytes, _ := weightOf(bs)
	segs := segmentsOf(t, n, 1)
	var objBytes int64
	for _, sg := range append(segs, segmentsOf(t, n, 2)...) {
		objBytes += sg.ObjSize
	}
	m := n.Metrics()
	if m.HotBytes != 0 || m.ColdMessages != msgs+1 || m.ColdBytes != bytes+1 ||
		m.Segments != int64(len(segs)+1) || m.SegmentObjectBytes != objBytes {
		t.Fatalf("metrics %+v, want %d cold messages of %d bytes in %d objects of %d bytes",
			m, msgs+1, bytes+1, len(segs)+1, objBytes)
	}
	if puts := uint64(st.Calls(objstoretest.OpPut)); m.TierUploads != puts || m.TierUploadBytes != uint64(objBytes) ||
		m.TierUploadErrors != 0 || m.TierUploadNanos == 0 {
		t.Fatalf("uploads %d of %d bytes (%d errors, %d ns), store saw %d Puts of %d bytes",
			m.TierUploads, m.TierUploadBytes, m.TierUploadErrors, m.TierUploadNanos, puts, objBytes)
	}
	stats, _ := n.Stats(bg, 1)
	if stats.ColdMessages != uint64(msgs) || stats.ColdBytes != uint64(bytes) || stats.Segments != uint64(len(segs)) ||
		stats.HotMessages != 0 {
		t.Fatalf("stats %+v", stats)
	}
	if got := []string{m.QueueTiers[0].Name, m.QueueTiers[1].Name}; len(m.QueueTiers) != 2 || got[0] != "q" {
		t.Fatalf("queue tiers %+v, want q first", m.QueueTiers)
	}

	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 100}); err != nil {
		t.Fatal(err)
	}
	got := sk.wait(t, len(bs))
	if err := sess.Settle(settleAll(got, storage.Ack), nil); err != nil {
		t.Fatal(err)
	}
	tierIdle(t, n)
	m = n.Metrics()
	if gets := uint64(st.Calls(objstoretest.OpGetRange)); m.TierDownloads != gets || m.TierDownloadBytes == 0 ||
		m.TierDownloadErrors != 0 {
		t.Fatalf("downloads %d of %d bytes (%d errors), store saw %d GetRanges",
			m.TierDownloads, m.TierDownloadBytes, m.TierDownloadErrors, gets)
	}
	if m.ColdMessages != 1 || m.Segments != 1 || m.ReadAheadBytes != 0 {
		t.Fatalf("after the drain: %+v", m)
	}
	if dels := uint64(st.Calls(objstoretest.OpDelete)); m.TierDeletes != dels || dels < uint64(len(segs)) ||
		m.TierDeleteErrors != 0 || m.TierOrphans != 0 {
		t.Fatalf("deletes %d (%d errors, %d orphans), store saw %d Deletes of %d dead segments",
			m.TierDeletes, m.TierDeleteErrors, m.TierOrphans, dels, len(segs))
	}
	if stats, _ := n.Stats(bg, 1); stats.ColdMessages != 0 || stats.Segments != 0 {
		t.Fatalf("drained queue's stats %+v", stats)
	}
}

// TestTopQueueTiers: the per-queue series keep the queues with the most
// hot and cold bytes, most first, ties by vhost and name.
func TestTopQueueTiers(t *testing.T) {
	var qs []QueueTier
	for i := range MaxQueueTiers + 10 {
		qs = append(qs, QueueTier{VHost: "/", Name: fmt.Sprintf("q%04d", i), HotBytes: uint64(i % 7), ColdBytes: uint64(i)})
	}
	most := slices.MaxFunc(qs, func(a, b QueueTier) int { return cmp.Compare(a.bytes(), b.bytes()) })
	top := topQueueTiers(qs)
	if len(top) != MaxQueueTiers {
		t.Fatalf("%d queues kept", len(top))
	}
	if top[0] != most {
		t.Fatalf("first %+v, want %+v", top[0], most)
	}
	for i := 1; i < len(top); i++ {
		if top[i].bytes() > top[i-1].bytes() || top[i].bytes() == top[i-1].bytes() && top[i].Name < top[i-1].Name {
			t.Fatalf("out of order at %d: %+v after %+v", i, top[i], top[i-1])
		}
	}
}

// TestMetricsTieringOff: without tiering the tier fields stay zero.
func TestMetricsTieringOff(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, "a")
	if m := n.Metrics(); m.Tiering || m.TierStoreUp || m.QueueTiers != nil {
		t.Fatalf("metrics %+v", m)
	}
	if st, _ := n.Stats(bg, 1); st.HotBytes != 0 || st.ColdBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
}
