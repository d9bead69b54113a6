package node

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
)

func benchNode(b *testing.B, opts Options) *Node {
	b.Helper()
	opts.Logger = quietLogger()
	opts.DiskFreeLimit = -1
	n, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close() })
	return n
}

// batches makes publishes to q of size bytes, in Appends of per, sharing
// one body (the node never modifies it).
func batches(q storage.QueueID, total, per, size int, persistent bool) [][]storage.Publish {
	body := make([]byte, size)
	var out [][]storage.Publish
	for total > 0 {
		k := min(per, total)
		batch := make([]storage.Publish, k)
		qs := []storage.QueueID{q}
		for i := range batch {
			batch[i] = storage.Publish{Queues: qs, Msg: &storage.Message{Exchange: "", RoutingKey: "q", Body: body, Persistent: persistent, TTL: -1}}
		}
		out = append(out, batch)
		total -= k
	}
	return out
}

func reportRate(b *testing.B, msgs int) {
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msg/s")
}

// countingSink counts deliveries and, for manual-ack consumers, acks each
// batch and grants its credit back, as the gateway does.
type countingSink struct {
	sess storage.Session
	tag  string
	ack  bool
	n    atomic.Int64
	want int64
	done chan struct{}
	once sync.Once
	ops  []storage.Settle
}

func (s *countingSink) Deliver(batch []storage.Delivery) {
	if s.ack {
		s.ops = s.ops[:0]
		for _, d := range batch {
			s.ops = append(s.ops, storage.Settle{Queue: d.Queue, ID: d.ID, Kind: storage.Ack})
		}
		_ = s.sess.Settle(s.ops, nil)
		s.sess.Grant(s.tag, uint32(len(batch)))
	}
	if s.n.Add(int64(len(batch))) >= s.want {
		s.once.Do(func() { close(s.done) })
	}
}

func (s *countingSink) Cancelled(string, error) {}

func consumer(b *testing.B, n *Node, q storage.QueueID, want int, credit uint32, noAck bool) *countingSink {
	b.Helper()
	sk := &countingSink{tag: "c", ack: !noAck, want: int64(want), done: make(chan struct{})}
	sess, err := n.OpenSession(bg, sk)
	if err != nil {
		b.Fatal(err)
	}
	sk.sess = sess
	if err := sess.Consume(storage.ConsumerSpec{Queue: q, Tag: "c", Credit: credit, Unlimited: credit == 0, NoAck: noAck}); err != nil {
		b.Fatal(err)
	}
	return sk
}

// appendAll runs Appends of the batches from callers goroutines.
func appendAll(b *testing.B, n *Node, all [][]storage.Publish, callers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(all) {
					return
				}
				if _, err := n.Append(bg, all[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkAppendTransient16B: 16-byte transient messages in Appends of
// 100 from one caller, with a no-ack consumer draining the queue (the
// end-to-end target's shape) and without one (the queue grows, spilling
// to disk past the cache).
func BenchmarkAppendTransient16B(b *testing.B) {
	for _, withConsumer := range []bool{true, false} {
		b.Run(fmt.Sprintf("consumer=%v", withConsumer), func(b *testing.B) {
			n := benchNode(b, Options{})
			mustCreateB(b, n, spec(1, "q"))
			all := batches(1, b.N, 100, 16, false)
			var sk *countingSink
			if withConsumer {
				sk = consumer(b, n, 1, b.N, 0, true)
			}
			b.ReportAllocs()
			b.ResetTimer()
			appendAll(b, n, all, 1)
			if sk != nil {
				<-sk.done
			}
			b.StopTimer()
			reportRate(b, b.N)
		})
	}
}

// BenchmarkAppendPersistent1KiB: 1 KiB persistent messages to a durable
// queue, each Append answered after its fsync; concurrent callers share
// fsyncs (group commit).
func BenchmarkAppendPersistent1KiB(b *testing.B) {
	for _, c := range []struct{ callers, per int }{{1, 100}, {4, 100}, {16, 100}, {100, 1}} {
		b.Run(fmt.Sprintf("callers=%d/batch=%d", c.callers, c.per), func(b *testing.B) {
			n := benchNode(b, Options{})
			mustCreateB(b, n, durable(1, "q"))
			all := batches(1, b.N, c.per, 1024, true)
			b.ReportAllocs()
			b.SetBytes(1024)
			syncs := n.Metrics().Fsyncs
			b.ResetTimer()
			appendAll(b, n, all, c.callers)
			b.StopTimer()
			reportRate(b, b.N)
			b.ReportMetric(float64(b.N)/float64(max(n.Metrics().Fsyncs-syncs, 1)), "msg/fsync")
		})
	}
}

// BenchmarkDeliverAck appends b.N messages, then consumes them with credit
// 100, acking each delivered batch and granting its credit back.
func BenchmarkDeliverAck(b *testing.B) {
	for _, c := range []struct {
		size       int
		persistent bool
	}{{16, false}, {1024, true}} {
		b.Run(fmt.Sprintf("size=%d/persistent=%v", c.size, c.persistent), func(b *testing.B) {
			n := benchNode(b, Options{})
			mustCreateB(b, n, durable(1, "q"))
			appendAll(b, n, batches(1, b.N, 100, c.size, c.persistent), 4)
			b.ReportAllocs()
			b.ResetTimer()
			sk := consumer(b, n, 1, b.N, 100, false)
			<-sk.done
			b.StopTimer()
			reportRate(b, b.N)
		})
	}
}

// BenchmarkDeliverAckLive: producer and acking consumer run together,
// with a cache big enough that nothing goes to disk: the in-memory path.
func BenchmarkDeliverAckLive(b *testing.B) {
	n := benchNode(b, Options{CacheBytes: 1 << 30, QueueCacheBytes: 1 << 30})
	mustCreateB(b, n, spec(1, "q"))
	all := batches(1, b.N, 100, 16, false)
	sk := consumer(b, n, 1, b.N, 100, false)
	b.ReportAllocs()
	b.ResetTimer()
	appendAll(b, n, all, 1)
	<-sk.done
	b.StopTimer()
	reportRate(b, b.N)
}

func mustCreateB(b *testing.B, n *Node, s storage.QueueSpec) {
	if err := n.CreateQueue(bg, s); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDrainTiered appends b.N 1 KiB persistent messages, waits until
// the backlog beyond QueueHotBytes is in segments (an in-memory store),
// then drains it with credit 100: the read path through the fetchers and
// the tieredLoader against Pebble alone.
func BenchmarkDrainTiered(b *testing.B) {
	for _, tiered := range []bool{false, true} {
		b.Run(fmt.Sprintf("tiered=%v", tiered), func(b *testing.B) {
			opts := Options{}
			if tiered {
				opts.ObjectStore = objstoretest.NewMem()
				opts.Tier.QueueHotBytes, opts.Tier.SegmentBytes = 1<<20, 1<<20
			}
			n := benchNode(b, opts)
			mustCreateB(b, n, durable(1, "q"))
			appendAll(b, n, batches(1, b.N, 100, 1024, true), 4)
			for tiered && (n.tier.busy.Load() != 0 || n.tier.hot.Load() > opts.Tier.QueueHotBytes) {
				time.Sleep(time.Millisecond)
			}
			b.ReportAllocs()
			b.ResetTimer()
			sk := consumer(b, n, 1, b.N, 100, false)
			<-sk.done
			b.StopTimer()
			reportRate(b, b.N)
		})
	}
}
