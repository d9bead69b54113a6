package node

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// slowLoads makes the reads of held queues answer queue.ErrNotReady, as
// for a lane whose next records are in a segment being fetched. It is
// shared by the slowStore of every shard.
type slowLoads struct {
	mu    sync.Mutex
	held  map[storage.QueueID]bool
	again map[storage.QueueID]bool // hold again after each read
	waits map[storage.QueueID]int  // ErrNotReady answers so far
}

// slowStore wraps one shard's Store.
type slowStore struct {
	inner queue.Store
	sl    *slowLoads
}

func (st slowStore) Load(q storage.QueueID, lane uint8, from, to storage.MsgID, kinds queue.StoredMask,
	maxCount int, maxBytes int64, dst []queue.Entry) ([]queue.Entry, error) {
	sl := st.sl
	sl.mu.Lock()
	held := sl.held[q]
	if held {
		sl.waits[q]++
	} else if sl.again[q] {
		sl.held[q] = true
	}
	sl.mu.Unlock()
	if held {
		return dst, queue.ErrNotReady
	}
	return st.inner.Load(q, lane, from, to, kinds, maxCount, maxBytes, dst)
}

// useSlowLoads wraps the Store of every shard; queues created afterwards
// read through it.
func useSlowLoads(t *testing.T, n *Node) *slowLoads {
	t.Helper()
	sl := &slowLoads{held: map[storage.QueueID]bool{}, again: map[storage.QueueID]bool{}, waits: map[storage.QueueID]int{}}
	for _, s := range n.shards {
		if _, err := n.call(bg, s, cmd{kind: cmdFunc, fn: func(s *shard) {
			s.store = slowStore{inner: s.store, sl: sl}
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return sl
}

// hold makes q's reads not ready; with again, every read that gets
// through holds q again.
func (sl *slowLoads) hold(q storage.QueueID, again bool) {
	sl.mu.Lock()
	sl.held[q], sl.again[q] = true, again
	sl.mu.Unlock()
}

func (sl *slowLoads) release(q storage.QueueID) {
	sl.mu.Lock()
	sl.held[q] = false
	sl.mu.Unlock()
}

func (sl *slowLoads) waitsOf(q storage.QueueID) int {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.waits[q]
}

// resumed posts a resume for q, as a fetcher does, and returns once the
// shard has run it (posts run in order).
func resumed(n *Node, q storage.QueueID) {
	n.postResume(q)
	done := make(chan struct{})
	n.shardOf(q).post(func(*shard) { close(done) })
	<-done
}

// parkedOf is the number of gets parked on q.
func parkedOf(t *testing.T, n *Node, q storage.QueueID) int {
	t.Helper()
	var k int
	if _, err := n.call(bg, n.shardOf(q), cmd{kind: cmdFunc, fn: func(s *shard) {
		if qs := s.queues[q]; qs != nil {
			k = len(qs.parked)
		}
	}}); err != nil {
		t.Fatal(err)
	}
	return k
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

type getResult struct {
	d   storage.Delivery
	ok  bool
	err error
}

// goGet runs a basic.get in its own goroutine.
func goGet(ctx context.Context, sess storage.Session, q storage.QueueID, noAck bool) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		d, _, ok, err := sess.Get(ctx, q, noAck)
		ch <- getResult{d, ok, err}
	}()
	return ch
}

func recvGet(t *testing.T, ch <-chan getResult) getResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("get not answered")
		return getResult{}
	}
}

// parkedGet starts a get on q and returns once the shard has parked it.
func parkedGet(t *testing.T, ctx context.Context, n *Node, sess storage.Session, q storage.QueueID, noAck bool) <-chan getResult {
	t.Helper()
	want := parkedOf(t, n, q) + 1
	ch := goGet(ctx, sess, q, noAck)
	eventually(t, func() bool { return parkedOf(t, n, q) == want })
	select {
	case r := <-ch:
		t.Fatalf("get answered while its queue waits: %+v", r)
	default:
	}
	return ch
}

// slowNode is a node whose queues keep everything on disk (so every
// message is read through the Store), reading through slowLoads.
func slowNode(t *testing.T) (*Node, *slowLoads) {
	n, _ := testNode(t, Options{QueueCacheBytes: 1, QueueMinCacheBytes: 1})
	return n, useSlowLoads(t, n)
}

func TestGetParkedUntilResume(t *testing.T) {
	n, sl := slowNode(t)
	mustCreate(t, n, spec(1, "q"))
	publish(t, n, 1, false, seqBodies("m", 3)...)
	sl.hold(1, false)
	sess, _ := openSession(t, n)
	got := parkedGet(t, bg, n, sess, 1, true)
	sl.release(1)
	n.postResume(1)
	if r := recvGet(t, got); r.err != nil || !r.ok || string(r.d.Msg.Body) != "m0" {
		t.Fatalf("parked get answered %+v", r)
	}
	d, remaining, ok, err := sess.Get(bg, 1, true)
	if err != nil || !ok || string(d.Msg.Body) != "m1" || remaining != 1 {
		t.Fatalf("next get: %q remaining=%d ok=%v err=%v", d.Msg.Body, remaining, ok, err)
	}
}

// TestParkedGetCancelled: a get whose context ends while it is parked
// returns the context's error and, on resume, takes nothing (with no-ack
// the message would be lost).
func TestParkedGetCancelled(t *testing.T) {
	n, sl := slowNode(t)
	mustCreate(t, n, spec(1, "q"))
	publish(t, n, 1, false, seqBodies("m", 3)...)
	sl.hold(1, false)
	sess, _ := openSession(t, n)
	ctx, cancel := context.WithCancel(bg)
	got := parkedGet(t, ctx, n, sess, 1, true)
	cancel()
	if r := recvGet(t, got); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled get answered %+v", r)
	}
	sl.release(1)
	resumed(n, 1)
	if k := parkedOf(t, n, 1); k != 0 {
		t.Fatalf("%d gets still parked", k)
	}
	if st, _ := n.Stats(bg, 1); st.Ready != 3 {
		t.Fatalf("the cancelled get took a message: %+v", st)
	}
	d, _, ok, err := sess.Get(bg, 1, true)
	if err != nil || !ok || string(d.Msg.Body) != "m0" {
		t.Fatalf("next get: %q ok=%v err=%v", d.Msg.Body, ok, err)
	}
}

// TestResumeServesParkedGetsFirst: gets parked before a consumer got
// credit take their messages first, as they would have without waiting.
func TestResumeServesParkedGetsFirst(t *testing.T) {
	n, sl := slowNode(t)
	mustCreate(t, n, spec(1, "q"))
	publish(t, n, 1, false, seqBodies("m", 4)...)
	sl.hold(1, false)
	getter, _ := openSession(t, n)
	got := parkedGet(t, bg, n, getter, 1, false)
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 10}); err != nil {
		t.Fatal(err)
	}
	quiesce(t, n)
	if ds := sk.take(); len(ds) != 0 {
		t.Fatalf("delivered while the queue waits: %s", bodies(ds))
	}
	sl.release(1)
	n.postResume(1)
	if r := recvGet(t, got); r.err != nil || !r.ok || string(r.d.Msg.Body) != "m0" {
		t.Fatalf("parked get answered %+v", r)
	}
	if b := bodies(sk.wait(t, 3)); b != "m1 m2 m3" {
		t.Fatalf("consumer got %q", b)
	}
}

// TestConsumerResumesInOrder: a backlog read in several steps, each one
// not ready at first, reaches the consumer whole and in order.
func TestConsumerResumesInOrder(t *testing.T) {
	n, sl := slowNode(t)
	mustCreate(t, n, spec(1, "q"))
	const total = 3*queue.DefaultLoadCount + 10
	want := seqBodies("m", total)
	publish(t, n, 1, false, want...)
	sl.hold(1, true)
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Unlimited: true}); err != nil {
		t.Fatal(err)
	}
	resumes := 0
	for seen := 0; ; resumes++ {
		eventually(t, func() bool { return sl.waitsOf(1) > seen || sk.count() == total })
		if seen = sl.waitsOf(1); sk.count() == total {
			break
		}
		sl.release(1)
		n.postResume(1)
	}
	got := sk.wait(t, total)
	for i, d := range got {
		if string(d.Msg.Body) != want[i] {
			t.Fatalf("delivery %d is %q, want %q", i, d.Msg.Body, want[i])
		}
	}
	if resumes < 4 {
		t.Fatalf("%d resumes: the reads did not wait", resumes)
	}
}

// TestParkedGetAnsweredWhenQueueChanges: purge, delete and session close
// answer parked gets at once instead of leaving them to a resume that may
// never come.
func TestParkedGetAnsweredWhenQueueChanges(t *testing.T) {
	n, sl := slowNode(t)
	for q := storage.QueueID(1); q <= 3; q++ {
		mustCreate(t, n, spec(q, "q"))
		publish(t, n, q, false, seqBodies("m", 2)...)
		sl.hold(q, false)
	}
	sess, _ := openSession(t, n)

	got := parkedGet(t, bg, n, sess, 1, true)
	if _, err := n.PurgeQueue(bg, 1); err != nil {
		t.Fatal(err)
	}
	if r := recvGet(t, got); r.err != nil || r.ok {
		t.Fatalf("get parked on a purged queue answered %+v", r)
	}

	got = parkedGet(t, bg, n, sess, 2, true)
	if _, err := n.DeleteQueue(bg, 2, false, false); err != nil {
		t.Fatal(err)
	}
	if r := recvGet(t, got); !isCode(r.err, reply.NotFound) {
		t.Fatalf("get parked on a deleted queue answered %+v", r)
	}

	got = parkedGet(t, bg, n, sess, 3, false)
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if r := recvGet(t, got); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("get parked by a closed session answered %+v", r)
	}
	sl.release(3)
	resumed(n, 3)
	if st, _ := n.Stats(bg, 3); st.Ready != 2 || st.Unacked != 0 {
		t.Fatalf("the closed session's get took a message: %+v", st)
	}
}
