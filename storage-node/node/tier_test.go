package node

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/segment"
)

// tinyTier offloads every hot record at once, in segments of a few
// records, and reads them back one record at a time. The queue cache is
// tiny, so a backlog is on disk (only the disk part is ever hot).
func tinyTier(st *objstoretest.Mem) Options {
	o := Options{ObjectStore: st, CacheBytes: 1, QueueCacheBytes: 1, QueueMinCacheBytes: 1, DeliveredChunk: 1}
	o.Tier.QueueHotBytes, o.Tier.MinSegmentBytes, o.Tier.SegmentBytes = 1, 1, 300
	o.Tier.FetchBytes, o.Tier.QueueReadAheadBytes = 1, 1
	return o
}

// tierIdle waits until the tier has nothing in progress (no upload, read
// or retry) and every shard and session is quiet.
func tierIdle(t *testing.T, n *Node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := n.tier.busy.Load()
		quiesce(t, n)
		if before == 0 && n.tier.busy.Load() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tier did not go idle: %d in progress", n.tier.busy.Load())
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// segmentsOf is the tier's table of queue q.
func segmentsOf(t *testing.T, n *Node, q storage.QueueID) []pebblestore.Segment {
	t.Helper()
	var segs []pebblestore.Segment
	if _, err := n.call(bg, n.shardOf(q), cmd{kind: cmdFunc, fn: func(s *shard) {
		if qs := s.queues[q]; qs != nil {
			segs = qs.tq.Segments(nil)
		}
	}}); err != nil {
		t.Fatal(err)
	}
	return segs
}

// tierClean checks the end state of the tier: the store holds exactly
// the objects the tables name, and no upload or delete intent is left.
// Call it once the tier is idle.
func tierClean(t *testing.T, n *Node, st objstore.Store) {
	t.Helper()
	var want []string
	for _, s := range n.shards {
		if _, err := n.call(bg, s, cmd{kind: cmdFunc, fn: func(s *shard) {
			for _, qs := range s.queues {
				for _, sg := range qs.tq.Segments(nil) {
					want = append(want, sg.ObjectKey(n.db.NodeID()))
				}
			}
		}}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	objs, err := st.List(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(objs))
	for i, o := range objs {
		got[i] = o.Key
	}
	if !slices.Equal(got, want) {
		t.Fatalf("store holds %q, tables name %q", got, want)
	}
	for _, kind := range []pebblestore.Intent{pebblestore.IntentUpload, pebblestore.IntentDelete} {
		if keys, err := n.db.Intents(kind); err != nil || len(keys) != 0 {
			t.Fatalf("intents %c left: %q %v", kind, keys, err)
		}
	}
}

// pebbleRecords is what Pebble holds of lane 0 of q, both kinds.
func pebbleRecords(t *testing.T, n *Node, q storage.QueueID) []queue.Entry {
	t.Helper()
	all := queue.StoredMask(1<<queue.Durable | 1<<queue.Spill)
	recs, err := n.db.Load(q, 0, 0, math.MaxUint64, all, math.MaxInt, math.MaxInt64, nil)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestTierUpload publishes a backlog with tiny thresholds: it moves into
// segment objects that hold exactly the published records, the table
// names every object, Pebble keeps none of the records, and the node's
// hot counters go back to zero.
func TestTierUpload(t *testing.T) {
	st := objstoretest.NewMem()
	n, _ := testNode(t, tinyTier(st))
	mustCreate(t, n, durable(1, "q"))
	want := seqBodies("m", 40)
	publish(t, n, 1, true, want...)
	tierIdle(t, n)

	segs := segmentsOf(t, n, 1)
	if len(segs) < 2 {
		t.Fatalf("%d segments, want the backlog cut into several", len(segs))
	}
	var keys, got []string
	for _, sg := range segs {
		keys = append(keys, sg.ObjectKey(n.db.NodeID()))
		obj, err := st.GetRange(bg, sg.ObjectKey(n.db.NodeID()), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		recs, _, err := segment.Decode(obj)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, string(r.Msg.Body))
		}
	}
	slices.Sort(keys)
	if !slices.Equal(st.Keys(), keys) {
		t.Fatalf("store holds %q, table names %q", st.Keys(), keys)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("segments hold %v, want %v", got, want)
	}
	if recs := pebbleRecords(t, n, 1); len(recs) != 0 {
		t.Fatalf("Pebble still holds %d records", len(recs))
	}
	if h, m := n.tier.hot.Load(), n.tier.hotN.Load(); h != 0 || m != 0 {
		t.Fatalf("hot %d bytes, %d messages after offloading everything", h, m)
	}
	if ups, _ := n.db.Intents(pebblestore.IntentUpload); len(ups) != 0 {
		t.Fatalf("upload intents left: %q", ups)
	}
}

// TestTierDrain drains a queue whose every record is in segments, durable
// and spilled transient ones: the consumer gets them all, in order, as
// published, read back through the fetcher.
func TestTierDrain(t *testing.T) {
	st := objstoretest.NewMem()
	n, _ := testNode(t, tinyTier(st))
	mustCreate(t, n, durable(1, "q"))
	want := seqBodies("m", 30)
	msgs := make([]*storage.Message, len(want))
	pubs := make([]storage.Publish, len(want))
	for i, b := range want {
		msgs[i] = message(b, true)
		if i%2 == 1 {
			msgs[i].Properties, msgs[i].Priority = []byte{0x10, byte(i)}, 3
		}
		msgs[i].Persistent = i%3 != 0 // transient ones are spilled: segments of both kinds

		pubs[i] = storage.Publish{Queues: []storage.QueueID{1}, Msg: msgs[i]}
	}
	if _, err := n.Append(bg, pubs); err != nil {
		t.Fatal(err)
	}
	tierIdle(t, n)
	if recs := pebbleRecords(t, n, 1); len(recs) != 0 {
		t.Fatalf("Pebble still holds %d records before the drain", len(recs))
	}
	kinds := map[queue.Stored]int{}
	for _, sg := range segmentsOf(t, n, 1) {
		kinds[sg.Kind]++
	}
	if kinds[queue.Durable] == 0 || kinds[queue.Spill] == 0 {
		t.Fatalf("segments by kind %v, want both", kinds)
	}
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 1000}); err != nil {
		t.Fatal(err)
	}
	got := sk.wait(t, len(want))
	if bodies(got) != bodies(deliveriesOf(want)) {
		t.Fatalf("drained %s", bodies(got))
	}
	for i, d := range got {
		if !reflect.DeepEqual(d.Msg, msgs[i]) {
			t.Fatalf("delivered %+v, published %+v", d.Msg, msgs[i])
		}
	}
	if st.Calls(objstoretest.OpGetRange) == 0 {
		t.Fatal("nothing was read from the store")
	}
	if err := sess.Settle(settleAll(got, storage.Ack), nil); err != nil {
		t.Fatal(err)
	}
	tierIdle(t, n)
	stats, _ := n.Stats(bg, 1)
	if stats.Ready != 0 || stats.Unacked != 0 {
		t.Fatalf("after the drain: %+v", stats)
	}
	if ra := n.tier.readAhead.Load(); ra != 0 {
		t.Fatalf("read-ahead %d bytes held after the drain", ra)
	}
}

// TestTierRestart: segments come back after a restart and drain, flagged
// redelivered as the delivered mark says; acked records stay acked.
func TestTierRestart(t *testing.T) {
	st := objstoretest.NewMem()
	opts := tinyTier(st)
	n, fs := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 20)...)
	tierIdle(t, n)
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 5}); err != nil {
		t.Fatal(err)
	}
	got := sk.wait(t, 5)
	if err := sess.Settle(settleAll(got[:3], storage.Ack), nil); err != nil {
		t.Fatal(err)
	}
	tierIdle(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	opts.FS = fs
	n, _ = testNode(t, opts)
	sess, sk = openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 100}); err != nil {
		t.Fatal(err)
	}
	want := "m3* m4*"
	for i := 5; i < 20; i++ {
		want += fmt.Sprintf(" m%d", i)
	}
	if got := bodies(sk.wait(t, 17)); got != want {
		t.Fatalf("after restart got %s\nwant %s", got, want)
	}
}

// TestTierPutFailure: a failed Put keeps the records hot and readable,
// the object it stored anyway is deleted, and the upload happens after
// the backoff.
func TestTierPutFailure(t *testing.T) {
	st := objstoretest.NewMem()
	st.FailNextAfter(objstoretest.OpPut, 1, nil)
	n, _ := testNode(t, tinyTier(st))
	mustCreate(t, n, durable(1, "q"))
	want := seqBodies("m", 10)
	publish(t, n, 1, true, want...)
	eventually(t, func() bool { return len(segmentsOf(t, n, 1)) > 0 })
	tierIdle(t, n)
	if st.Calls(objstoretest.OpPut) < 2 {
		t.Fatalf("%d Puts, want the failed one and a retry", st.Calls(objstoretest.OpPut))
	}
	if st.Calls(objstoretest.OpDelete) != 1 {
		t.Fatalf("%d Deletes, want the failed Put's object's", st.Calls(objstoretest.OpDelete))
	}
	tierClean(t, n, st)
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 100}); err != nil {
		t.Fatal(err)
	}
	if got := bodies(sk.wait(t, len(want))); got != bodies(deliveriesOf(want)) {
		t.Fatalf("got %s", got)
	}
}

func deliveriesOf(bodies []string) []storage.Delivery {
	ds := make([]storage.Delivery, len(bodies))
	for i, b := range bodies {
		ds[i] = storage.Delivery{Msg: message(b, true)}
	}
	return ds
}

// TestTierPurgeInsideSegment is the hole the tier's random test found: a
// consumer holds the head of a segment, a purge removes the rest of it,
// and after a restart only the unacked head comes back, then what was
// published after the purge, not the purged records (the purge wrote a
// range cold ack for them).
func TestTierPurgeInsideSegment(t *testing.T) {
	st := objstoretest.NewMem()
	opts := tinyTier(st)
	n, fs := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 20)...)
	tierIdle(t, n)
	if segs := segmentsOf(t, n, 1); len(segs) == 0 || segs[0].Last < 3 {
		t.Fatalf("segments %+v, want the first to hold more than the consumer takes", segs)
	}
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 2}); err != nil {
		t.Fatal(err)
	}
	sk.wait(t, 2)
	tierIdle(t, n)
	if got, err := n.PurgeQueue(bg, 1); err != nil || got != 18 {
		t.Fatalf("purge = %d, %v; want 18", got, err)
	}
	publish(t, n, 1, true, "n0", "n1") // a restart reads on past the purged IDs
	tierIdle(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	opts.FS = fs
	n, _ = testNode(t, opts)
	if st, _ := n.Stats(bg, 1); st.Ready != 4 {
		t.Fatalf("after restart %d ready, want the 2 unacked and 2 published after the purge", st.Ready)
	}
	sess, sk = openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 100}); err != nil {
		t.Fatal(err)
	}
	sk.wait(t, 4)
	tierIdle(t, n)
	if got := bodies(sk.take()); got != "m0* m1* n0 n1" {
		t.Fatalf("after restart got %s, want m0* m1* n0 n1", got)
	}
}

// TestTierReadErrors: a read that fails for a while is retried and the
// consumer sees nothing but the messages; a missing object whose table
// entry is live becomes the queue's error, and the queue stops reading.
func TestTierReadErrors(t *testing.T) {
	st := objstoretest.NewMem()
	n, _ := testNode(t, tinyTier(st))
	mustCreate(t, n, durable(1, "q"))
	mustCreate(t, n, durable(2, "lost"))
	want := seqBodies("m", 8)
	publish(t, n, 1, true, want...)
	publish(t, n, 2, true, want...)
	tierIdle(t, n)
	st.FailNext(objstoretest.OpGetRange, 3, nil)
	for _, sg := range segmentsOf(t, n, 2) {
		if err := st.Delete(bg, sg.ObjectKey(n.db.NodeID())); err != nil {
			t.Fatal(err)
		}
	}
	sess, sk := openSession(t, n)
	for _, q := range []storage.QueueID{1, 2} {
		if err := sess.Consume(storage.ConsumerSpec{Queue: q, Tag: fmt.Sprint(q), Credit: 100}); err != nil {
			t.Fatal(err)
		}
	}
	sk.wait(t, len(want))
	tierIdle(t, n)
	got := sk.take()
	for _, d := range got {
		if d.Queue != 1 {
			t.Fatalf("a queue whose objects are gone delivered %s", d.Msg.Body)
		}
	}
	if bodies(got) != bodies(deliveriesOf(want)) {
		t.Fatalf("got %s", bodies(got))
	}
	var qerr error
	if _, err := n.call(bg, n.shardOf(2), cmd{kind: cmdFunc, fn: func(s *shard) { qerr = s.queues[2].q.Err() }}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(qerr, objstore.ErrNotFound) {
		t.Fatalf("queue error %v, want the missing object", qerr)
	}
}

// TestTierReadAheadNoStarvation: a lane whose consumer stopped keeps its
// read-ahead, which may fill the node's budget; a lane that waits for its
// next record must still get its read, or its consumers starve.
func TestTierReadAheadNoStarvation(t *testing.T) {
	st := objstoretest.NewMem()
	opts := tinyTier(st)
	opts.Tier.ReadAheadBytes, opts.Tier.QueueReadAheadBytes = 1, 4<<10
	n, _ := testNode(t, opts)
	mustCreate(t, n, durable(1, "idle"))
	mustCreate(t, n, durable(2, "busy"))
	want := seqBodies("m", 20)
	publish(t, n, 1, true, want...)
	publish(t, n, 2, true, want...)
	tierIdle(t, n)
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "idle", Credit: 1}); err != nil {
		t.Fatal(err)
	}
	sk.wait(t, 1)
	quiesce(t, n) // not tierIdle: the idle lane's read-ahead waits for budget
	if n.tier.readAhead.Load() <= opts.Tier.ReadAheadBytes {
		t.Fatalf("the idle lane holds %d bytes of read-ahead, want it over the node's budget", n.tier.readAhead.Load())
	}
	if err := sess.Consume(storage.ConsumerSpec{Queue: 2, Tag: "busy", Credit: 100}); err != nil {
		t.Fatal(err)
	}
	got := sk.wait(t, 1+len(want))
	if bodies(got[1:]) != bodies(deliveriesOf(want)) {
		t.Fatalf("busy queue got %s", bodies(got[1:]))
	}
}

// TestTierUploadOverlapped: a purge or the queue's delete while its
// upload is in the store aborts the upload: no table entry names the
// object, the deleter deletes it, and nothing comes back.
func TestTierUploadOverlapped(t *testing.T) {
	for _, op := range []string{"purge", "delete"} {
		t.Run(op, func(t *testing.T) {
			st := objstoretest.NewMem()
			st.Pause(objstoretest.OpPut)
			n, _ := testNode(t, tinyTier(st))
			mustCreate(t, n, durable(1, "q"))
			publish(t, n, 1, true, seqBodies("m", 10)...)
			eventually(t, func() bool { return st.Blocked(objstoretest.OpPut) == 1 })
			var err error
			if op == "purge" {
				_, err = n.PurgeQueue(bg, 1)
			} else {
				_, err = n.DeleteQueue(bg, 1, false, false)
			}
			if err != nil {
				t.Fatal(err)
			}
			st.Resume(objstoretest.OpPut)
			tierIdle(t, n)
			if segs := segmentsOf(t, n, 1); len(segs) != 0 {
				t.Fatalf("segments after the %s: %+v", op, segs)
			}
			if st.Calls(objstoretest.OpPut) != 1 || st.Calls(objstoretest.OpDelete) != 1 {
				t.Fatalf("%d Puts, %d Deletes: want the aborted upload's object put and deleted",
					st.Calls(objstoretest.OpPut), st.Calls(objstoretest.OpDelete))
			}
			tierClean(t, n, st)
		})
	}
}

// TestTierCloseDuringUpload: Close does not wait for a Put that hangs;
// after the restart the records are still hot and drain, and the
// abandoned upload's intent became a delete intent that the deleter
// carries out.
func TestTierCloseDuringUpload(t *testing.T) {
	st := objstoretest.NewMem()
	st.Pause(objstoretest.OpPut)
	opts := tinyTier(st)
	n, fs := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	want := seqBodies("m", 10)
	publish(t, n, 1, true, want...)
	eventually(t, func() bool { return st.Blocked(objstoretest.OpPut) == 1 })
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	opts.FS = fs
	st2 := objstoretest.NewMem()
	st2.Pause(objstoretest.OpDelete)
	opts.ObjectStore = st2
	n, _ = testNode(t, opts)
	if dels, _ := n.db.Intents(pebblestore.IntentDelete); len(dels) != 1 {
		t.Fatalf("delete intents %q, want the abandoned upload's", dels)
	}
	st2.Resume(objstoretest.OpDelete)
	tierIdle(t, n)
	if st2.Calls(objstoretest.OpDelete) != 1 {
		t.Fatalf("%d Deletes, want the abandoned upload's", st2.Calls(objstoretest.OpDelete))
	}
	tierClean(t, n, st2)
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 100}); err != nil {
		t.Fatal(err)
	}
	if got := bodies(sk.wait(t, len(want))); got != bodies(deliveriesOf(want)) {
		t.Fatalf("after restart got %s", got)
	}
}

// TestTierOffWithSegments: a node whose queues have segments refuses to
// open without an object store, rather than drop the tiered records.
func TestTierOffWithSegments(t *testing.T) {
	st := objstoretest.NewMem()
	opts := tinyTier(st)
	n, fs := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 10)...)
	tierIdle(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	opts.FS, opts.Logger, opts.Shards, opts.DiskFreeLimit = fs, quietLogger(), 2, -1
	opts.ObjectStore = nil
	if n, err := Open("data", opts); err == nil {
		_ = n.Close()
		t.Fatal("opened without the object store that holds the queue's segments")
	}
	opts.ObjectStore = st
	n, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Close()
}

// TestTierScan: a queue under QueueHotBytes stays hot while the node is
// under half its hot budget, and offloads once the node is over it (scan
// mode), until the node is back under.
func TestTierScan(t *testing.T) {
	for _, c := range []struct {
		hotBytes int64
		offload  bool
	}{{1 << 30, false}, {1000, true}} {
		t.Run(fmt.Sprintf("HotBytes=%d", c.hotBytes), func(t *testing.T) {
			opts := tinyTier(objstoretest.NewMem())
			opts.Tier.HotBytes, opts.Tier.QueueHotBytes = c.hotBytes, 1<<30
			opts.Tier.MinSegmentBytes, opts.Tier.SegmentBytes = 200, 300
			n, _ := testNode(t, opts)
			mustCreate(t, n, durable(1, "q"))
			publish(t, n, 1, true, seqBodies("m", 20)...) // 50 body bytes + 20 × 64 = 1330 hot
			tierIdle(t, n)
			hot := n.tier.hot.Load()
			switch segs := segmentsOf(t, n, 1); {
			case !c.offload && (len(segs) > 0 || hot != 1330):
				t.Fatalf("under the scan mark: %d segments, %d hot bytes", len(segs), hot)
			case c.offload && (len(segs) == 0 || hot > opts.Tier.HotBytes/2):
				t.Fatalf("over the scan mark: %d segments, %d hot bytes", len(segs), hot)
			}
		})
	}
}
