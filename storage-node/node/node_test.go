package node

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
)

func TestFIFOCreditAndAck(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, spec(1, "q"))
	publish(t, n, 1, false, seqBodies("m", 10)...)
	st, _ := n.Stats(bg, 1)
	if st.Ready != 10 || st.ReadyBytes != 20 {
		t.Fatalf("stats %+v", st)
	}
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 3}); err != nil {
		t.Fatal(err)
	}
	got := sk.wait(t, 3)
	if b := bodies(got); b != "m0 m1 m2" {
		t.Fatalf("first deliveries %q", b)
	}
	syncShards(t, n)
	if len(sk.take()) != 3 {
		t.Fatal("credit 3 let more than 3 deliveries out")
	}
	_ = sess.Settle(settleAll(got, storage.Ack), nil)
	sess.Grant("c", 7)
	rest := sk.wait(t, 7)
	if b := bodies(rest); b != "m3 m4 m5 m6 m7 m8 m9" {
		t.Fatalf("rest %q", b)
	}
	syncShards(t, n)
	st, _ = n.Stats(bg, 1)
	if st.Ready != 0 || st.Unacked != 7 || st.Consumers != 1 {
		t.Fatalf("stats %+v", st)
	}
	if m := n.Metrics(); m.Appends != 10 || m.Delivered != 10 || m.Acked != 3 || m.Unacked != 7 || m.Queues != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

// TestRequeueAndSessionClose: requeued and returned messages go back to
// their original position, flagged redelivered.
func TestRequeueAndSessionClose(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, spec(1, "q"))
	publish(t, n, 1, false, seqBodies("m", 6)...)
	s1, sk1 := openSession(t, n)
	_ = s1.Consume(storage.ConsumerSpec{Queue: 1, Tag: "a", Credit: 4})
	got := sk1.wait(t, 4)
	// ack m1, requeue m2, keep m0 and m3 unacked, then close the session.
	_ = s1.Settle([]storage.Settle{{Queue: 1, ID: got[1].ID, Kind: storage.Ack}, {Queue: 1, ID: got[2].ID, Kind: storage.Requeue}}, nil)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	st, _ := n.Stats(bg, 1)
	if st.Ready != 5 || st.Unacked != 0 || st.Consumers != 0 {
		t.Fatalf("after close: %+v", st)
	}
	s2, sk2 := openSession(t, n)
	_ = s2.Consume(storage.ConsumerSpec{Queue: 1, Tag: "b", Unlimited: true})
	if b := bodies(sk2.wait(t, 5)); b != "m0* m2* m3* m4 m5" {
		t.Fatalf("second session got %q", b)
	}
	// Settling with the wrong session is ignored.
	_ = s1.Settle([]storage.Settle{{Queue: 1, ID: got[0].ID, Kind: storage.Ack}}, nil)
	syncShards(t, n)
	if st, _ := n.Stats(bg, 1); st.Unacked != 5 {
		t.Fatalf("unacked %d after a foreign settle", st.Unacked)
	}
}

func TestGet(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, spec(1, "q"))
	publish(t, n, 1, true, "a", "b")
	s, _ := openSession(t, n)
	d, rem, ok, err := s.Get(bg, 1, false)
	if err != nil || !ok || string(d.Msg.Body) != "a" || rem != 1 || d.Tag != "" || d.Redelivered {
		t.Fatalf("get: %+v %d %v %v", d, rem, ok, err)
	}
	_ = s.Settle([]storage.Settle{{Queue: 1, ID: d.ID, Kind: storage.Requeue}}, nil)
	d, rem, ok, _ = s.Get(bg, 1, true)
	if !ok || string(d.Msg.Body) != "a" || !d.Redelivered || rem != 1 {
		t.Fatalf("get after requeue: %+v %d", d, rem)
	}
	d, rem, ok, _ = s.Get(bg, 1, true)
	if !ok || string(d.Msg.Body) != "b" || rem != 0 {
		t.Fatalf("second get: %+v", d)
	}
	if _, _, ok, _ = s.Get(bg, 1, true); ok {
		t.Fatal("get on an empty queue")
	}
	if _, _, _, err := s.Get(bg, 99, true); !isCode(err, reply.NotFound) {
		t.Fatalf("get on a missing queue: %v", err)
	}
}

func isCode(err error, code uint16) bool {
	var re *reply.Error
	return errors.As(err, &re) && re.Code == code
}

func replyText(err error) string {
	var re *reply.Error
	if errors.As(err, &re) {
		return re.ReplyText()
	}
	return ""
}

func TestPriorities(t *testing.T) {
	n, _ := testNode(t, Options{})
	sp := spec(1, "q")
	sp.MaxPriority = 5
	mustCreate(t, n, sp)
	var batch []storage.Publish
	for i, p := range []uint8{0, 9, 3, 5, 1, 3} {
		m := message(string(rune('a'+i)), false)
		m.Priority = p
		batch = append(batch, storage.Publish{Queues: []storage.QueueID{1}, Msg: m})
	}
	if _, err := n.Append(bg, batch); err != nil {
		t.Fatal(err)
	}
	s, sk := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", NoAck: true, Unlimited: true})
	// 9 counts as 5 and was published before the 5: b d c f e a.
	if b := bodies(sk.wait(t, 6)); b != "b d c f e a" {
		t.Fatalf("priority order %q", b)
	}
}

func TestConsumerPriorityAndRoundRobin(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, spec(1, "q"))
	s, sk := openSession(t, n)
	for _, c := range []storage.ConsumerSpec{
		{Queue: 1, Tag: "low", Credit: 100, Priority: -5},
		{Queue: 1, Tag: "hi1", Credit: 2, Priority: 10},
		{Queue: 1, Tag: "hi2", Credit: 2, Priority: 10},
	} {
		if err := s.Consume(c); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, n, 1, false, seqBodies("m", 6)...)
	got := sk.wait(t, 6)
	var tags []string
	for _, d := range got {
		tags = append(tags, d.Tag)
	}
	if s := strings.Join(tags, " "); s != "hi1 hi2 hi1 hi2 low low" {
		t.Fatalf("dispatch order %q", s)
	}
}

func TestSingleActiveConsumer(t *testing.T) {
	n, _ := testNode(t, Options{})
	sp := spec(1, "q")
	sp.SingleActiveConsumer = true
	mustCreate(t, n, sp)
	s1, sk1 := openSession(t, n)
	s2, sk2 := openSession(t, n)
	_ = s1.Consume(storage.ConsumerSpec{Queue: 1, Tag: "first", Credit: 2})
	_ = s2.Consume(storage.ConsumerSpec{Queue: 1, Tag: "second", Unlimited: true})
	publish(t, n, 1, false, "a", "b", "c")
	if b := bodies(sk1.wait(t, 2)); b != "a b" {
		t.Fatalf("active consumer got %q", b)
	}
	syncShards(t, n)
	if len(sk2.take()) != 0 {
		t.Fatal("inactive consumer received")
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if b := bodies(sk2.wait(t, 3)); b != "a* b* c" {
		t.Fatalf("next consumer got %q", b)
	}
	if err := s2.Consume(storage.ConsumerSpec{Queue: 1, Tag: "x", Exclusive: true, Unlimited: true}); !isCode(err, reply.AccessRefused) {
		t.Fatalf("exclusive consume on a SAC queue: %v", err)
	}
}

func TestExclusiveConsumer(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, spec(1, "q"))
	s1, _ := openSession(t, n)
	s2, _ := openSession(t, n)
	if err := s1.Consume(storage.ConsumerSpec{Queue: 1, Tag: "x", Exclusive: true, Unlimited: true}); err != nil {
		t.Fatal(err)
	}
	err := s2.Consume(storage.ConsumerSpec{Queue: 1, Tag: "y", Unlimited: true})
	if !isCode(err, reply.AccessRefused) || replyText(err) != "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use" {
		t.Fatalf("second consumer: %v", err)
	}
	_ = s1.Cancel("x")
	if err := s2.Consume(storage.ConsumerSpec{Queue: 1, Tag: "y", Unlimited: true}); err != nil {
		t.Fatalf("after the exclusive consumer left: %v", err)
	}
	if err := s1.Consume(storage.ConsumerSpec{Queue: 1, Tag: "x2", Exclusive: true, Unlimited: true}); !isCode(err, reply.AccessRefused) {
		t.Fatalf("exclusive with another consumer present: %v", err)
	}
	if err := s2.Consume(storage.ConsumerSpec{Queue: 1, Tag: "y", Unlimited: true}); !isCode(err, reply.NotAllowed) {
		t.Fatalf("tag reuse: %v", err)
	}
	if err := s2.Consume(storage.ConsumerSpec{Queue: 42, Tag: "z", Unlimited: true}); !isCode(err, reply.NotFound) {
		t.Fatalf("consume on a missing queue: %v", err)
	}
}

func TestDeletePurgeAndCancelNotify(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 5)...)
	s, sk := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 2})
	sk.wait(t, 2)
	if _, err := n.DeleteQueue(bg, 1, true, false); replyText(err) != "PRECONDITION_FAILED - queue 'q' in vhost '/' in use" {
		t.Fatalf("if-unused: %v", err)
	}
	if _, err := n.DeleteQueue(bg, 1, false, true); replyText(err) != "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty" {
		t.Fatalf("if-empty: %v", err)
	}
	if got, err := n.PurgeQueue(bg, 1); err != nil || got != 3 {
		t.Fatalf("purge = %d, %v; want 3 (not the 2 unacked)", got, err)
	}
	publish(t, n, 1, true, "x")
	if got, err := n.DeleteQueue(bg, 1, false, false); err != nil || got != 1 {
		t.Fatalf("delete = %d, %v", got, err)
	}
	deadline := time.After(5 * time.Second)
	for len(sk.cancels()) == 0 {
		select {
		case <-sk.changed:
		case <-deadline:
			t.Fatal("no Cancelled after delete")
		}
	}
	if c := sk.cancels(); !slices.Equal(c, []string{"c"}) {
		t.Fatalf("cancelled %v", c)
	}
	if _, err := n.Stats(bg, 1); replyText(err) != "NOT_FOUND - no queue 'q' in vhost '/'" {
		t.Fatalf("stats after delete: %v", err)
	}
	if got, err := n.DeleteQueue(bg, 1, false, false); err != nil || got != 0 {
		t.Fatalf("second delete = %d, %v", got, err)
	}
	if _, err := n.PurgeQueue(bg, 1); !isCode(err, reply.NotFound) {
		t.Fatalf("purge of a deleted queue: %v", err)
	}
	if m := n.Metrics(); m.Ready != 0 || m.Unacked != 0 || m.Queues != 0 {
		t.Fatalf("metrics after delete %+v", m)
	}
}

func TestCreateQueueIdempotent(t *testing.T) {
	n, _ := testNode(t, Options{})
	mustCreate(t, n, durable(1, "q"))
	mustCreate(t, n, durable(1, "q"))
	other := durable(1, "q")
	other.MaxLength = 5
	if err := n.CreateQueue(bg, other); !isCode(err, reply.PreconditionFailed) {
		t.Fatalf("create with another spec: %v", err)
	}
}

func TestAppendOutcomes(t *testing.T) {
	n, _ := testNode(t, Options{Shards: 4})
	mustCreate(t, n, spec(1, "a"))
	rp := spec(2, "limited")
	rp.MaxLength, rp.Overflow = 1, storage.RejectPublish
	mustCreate(t, n, rp)
	batch := []storage.Publish{
		{Queues: []storage.QueueID{1, 2}, Msg: message("x", false)}, // two shards
		{Queues: []storage.QueueID{1, 2}, Msg: message("y", false)}, // 2 is full
		{Queues: []storage.QueueID{1, 7}, Msg: message("z", false)}, // 7 missing
		{Queues: []storage.QueueID{7}, Msg: message("w", false)},
		{Queues: []storage.QueueID{2}, Msg: message("v", false)},
	}
	out, err := n.Append(bg, batch)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Err != nil || len(out[0].Rejected) != 0 {
		t.Fatalf("publish 0: %+v", out[0])
	}
	if out[1].Err != nil || !slices.Equal(out[1].Rejected, []storage.QueueID{2}) {
		t.Fatalf("publish 1: %+v", out[1])
	}
	if !isCode(out[2].Err, reply.NotFound) || !isCode(out[3].Err, reply.NotFound) {
		t.Fatalf("missing queue: %+v %+v", out[2], out[3])
	}
	if !slices.Equal(out[4].Rejected, []storage.QueueID{2}) {
		t.Fatalf("publish 4: %+v", out[4])
	}
	// Nothing of publish 2 went to queue 1.
	if st, _ := n.Stats(bg, 1); st.Ready != 2 {
		t.Fatalf("queue 1 has %d, want x and y only", st.Ready)
	}
	if st, _ := n.Stats(bg, 2); st.Ready != 1 {
		t.Fatalf("queue 2 has %d", st.Ready)
	}
}

// TestSlowSinkDoesNotBlockOthers: a Sink that does not return holds only
// its own session's deliveries back.
func TestSlowSinkDoesNotBlockOthers(t *testing.T) {
	n, _ := testNode(t, Options{Shards: 1, UnlimitedWindow: 8})
	mustCreate(t, n, spec(1, "slow"))
	mustCreate(t, n, spec(2, "fast"))
	slowSess, slow := openSession(t, n)
	slow.block = make(chan struct{})
	defer close(slow.block)
	_ = slowSess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "s", Unlimited: true})
	fastSess, fast := openSession(t, n)
	_ = fastSess.Consume(storage.ConsumerSpec{Queue: 2, Tag: "f", Unlimited: true})
	for range 20 {
		publish(t, n, 1, false, seqBodies("s", 50)...)
		publish(t, n, 2, false, seqBodies("f", 50)...)
	}
	fast.wait(t, 1000)
	st, _ := n.Stats(bg, 1)
	// the slow consumer's window bounds what left its queue
	if st.Unacked != 8 || st.Ready != 1000-8 {
		t.Fatalf("slow queue stats %+v", st)
	}
}

func TestTTLAndDeadLetter(t *testing.T) {
	clock := newFakeClock()
	dl := newDLRecorder()
	n, _ := testNode(t, Options{Clock: clock, DeadLetterer: dl})
	sp := spec(1, "work")
	sp.MessageTTL = 1000
	sp.HasDLX, sp.DeadLetterExchange = true, "dlx"
	mustCreate(t, n, sp)
	publish(t, n, 1, true, "a")
	clock.Advance(500 * time.Millisecond)
	short := message("b", true)
	short.TTL = 100
	if _, err := n.Append(bg, []storage.Publish{{Queues: []storage.QueueID{1}, Msg: short}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(499 * time.Millisecond) // b expired at +600 but is not at the head
	syncShards(t, n)
	if st, _ := n.Stats(bg, 1); st.Ready != 2 {
		t.Fatalf("ready %d before the head expires", st.Ready)
	}
	clock.Advance(time.Millisecond) // a expires at +1000, then b behind it
	syncShards(t, n)
	if st, _ := n.Stats(bg, 1); st.Ready != 0 {
		t.Fatalf("ready %d after expiry", st.Ready)
	}
	got := dl.wait(t, 2)
	if string(got[0].Msg.Body) != "a" || string(got[1].Msg.Body) != "b" || got[0].Exchange != "dlx" {
		t.Fatalf("dead letters %+v", got)
	}
	h := headersOf(t, got[0].Msg)
	death := h["x-death"].([]any)[0].(amqp.Table)
	if death["reason"] != "expired" || death["queue"] != "work" || death["count"] != int64(1) ||
		death["time"].(time.Time).Unix() != clock.Now().Unix() {
		t.Fatalf("x-death %v", death)
	}
	// An expired message is never delivered, even to a waiting consumer.
	s, sk := openSession(t, n)
	publish(t, n, 1, false, "c")
	clock.Advance(2 * time.Second)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "late", Unlimited: true})
	dl.wait(t, 3)
	syncShards(t, n)
	if len(sk.take()) != 0 {
		t.Fatal("an expired message was delivered")
	}
}

func TestRejectDeadLettersAndRetries(t *testing.T) {
	dl := newDLRecorder()
	dl.failures = 2
	n, _ := testNode(t, Options{DeadLetterer: dl})
	sp := durable(1, "q")
	sp.HasDLX, sp.DeadLetterExchange = true, "dlx"
	sp.HasDLRoutingKey, sp.DeadLetterRoutingKey = true, "parked"
	mustCreate(t, n, sp)
	publish(t, n, 1, true, "a", "b")
	s, sk := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Unlimited: true})
	got := sk.wait(t, 2)
	_ = s.Settle(settleAll(got[:1], storage.Reject), nil)
	out := dl.wait(t, 1)
	if !slices.Equal(out[0].RoutingKeys, []string{"parked"}) || out[0].Msg.RoutingKey != "parked" || string(out[0].Msg.Body) != "a" {
		t.Fatalf("dead letter %+v", out[0])
	}
	if dl.calls() < 3 {
		t.Fatalf("DeadLetterer called %d times, want retries", dl.calls())
	}
	// the worker counts a dead letter once the DeadLetterer has returned
	eventually(t, func() bool { m := n.Metrics(); return m.DeadLettered == 1 && m.DeadLetterOut == 1 })
}

// TestDeadLetterIntoSameNode: the DeadLetterer appends back into the node
// (to the DLX's queue) without deadlocking it.
func TestDeadLetterIntoSameNode(t *testing.T) {
	var n *Node
	dl := dlFunc(func(batch []storage.DeadLetter) error {
		pubs := make([]storage.Publish, len(batch))
		for i, d := range batch {
			pubs[i] = storage.Publish{Queues: []storage.QueueID{2}, Msg: d.Msg}
		}
		_, err := n.Append(bg, pubs)
		return err
	})
	n, _ = testNode(t, Options{DeadLetterer: dl})
	sp := spec(1, "src")
	sp.MaxLength = 1
	sp.HasDLX, sp.DeadLetterExchange = true, "dlx"
	mustCreate(t, n, sp)
	mustCreate(t, n, spec(2, "dead"))
	publish(t, n, 1, false, seqBodies("m", 5)...)
	s, sk := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 2, Tag: "d", NoAck: true, Unlimited: true})
	got := sk.wait(t, 4)
	if b := bodies(got); b != "m0 m1 m2 m3" {
		t.Fatalf("dead-lettered %q", b)
	}
	h := headersOf(t, got[0].Msg)
	if h["x-first-death-reason"] != "maxlen" || got[0].Msg.Exchange != "dlx" {
		t.Fatalf("headers %v", h)
	}
}

func TestQueueUnusedEvents(t *testing.T) {
	clock := newFakeClock()
	ev := &eventRecorder{ch: make(chan string, 10)}
	n, _ := testNode(t, Options{Clock: clock, Events: ev})
	ad := spec(1, "auto")
	ad.AutoDelete = true
	mustCreate(t, n, ad)
	ex := spec(2, "expiring")
	ex.Expires = 1000
	mustCreate(t, n, ex)
	s, _ := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Unlimited: true})
	_ = s.Cancel("c")
	if e := ev.next(t); e != "1 auto-delete" {
		t.Fatalf("event %q", e)
	}
	clock.Advance(600 * time.Millisecond)
	_ = n.Touch(bg, 2)
	clock.Advance(600 * time.Millisecond)
	syncShards(t, n)
	select {
	case e := <-ev.ch:
		t.Fatalf("early event %q", e)
	default:
	}
	clock.Advance(400 * time.Millisecond)
	syncShards(t, n)
	if e := ev.next(t); e != "2 expired" {
		t.Fatalf("event %q", e)
	}
}

func TestAlarms(t *testing.T) {
	n, _ := testNode(t, Options{MemoryHighWatermark: 1, AlarmInterval: time.Hour})
	ch, unsub := n.SubscribeAlarms()
	defer unsub()
	if mem, disk := n.Alarms(); !mem || disk {
		t.Fatalf("alarms %v %v", mem, disk)
	}
	if st := <-ch; !st.Memory {
		t.Fatalf("subscription starts with %+v", st)
	}
	n.opts.MemoryHighWatermark = 1 << 50
	n.alarms.check()
	if st := <-ch; st.Memory {
		t.Fatalf("alarm did not clear: %+v", st)
	}
}

// TestZeroCreditWaitsForGrant: Credit 0 without Unlimited delivers nothing
// until a Grant; Unlimited delivers everything.
func TestZeroCreditWaitsForGrant(t *testing.T) {
	n, _ := testNode(t, Options{UnlimitedWindow: 4})
	mustCreate(t, n, spec(1, "q"))
	mustCreate(t, n, spec(2, "u"))
	publish(t, n, 1, false, "a", "b", "c")
	publish(t, n, 2, false, seqBodies("u", 50)...)
	s, sk := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "zero"})
	quiesce(t, n)
	if got := sk.take(); len(got) != 0 {
		t.Fatalf("credit 0 delivered %q", bodies(got))
	}
	s.Grant("zero", 2)
	if b := bodies(sk.wait(t, 2)); b != "a b" {
		t.Fatalf("after grant 2: %q", b)
	}
	sk.take()
	// Unlimited, with a window of 4 granted back as the sink takes them.
	_ = s.Consume(storage.ConsumerSpec{Queue: 2, Tag: "all", Unlimited: true})
	if got := sk.wait(t, 50); len(got) != 50 || string(got[49].Msg.Body) != "u49" {
		t.Fatalf("unlimited consumer got %d", len(got))
	}
}
