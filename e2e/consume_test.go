package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestConsumeCancel: deliveries carry the consumer tag, tags 1..n, exchange and
// routing key; after basic.cancel the delivery stream ends and new messages stay
// in the queue.
func TestConsumeCancel(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	ds := consume(t, ch, q, "ctag", false, nil)
	publishBodies(t, ch, q, "1", "2", "3")
	for i := 1; i <= 3; i++ {
		d := recv(t, ds)
		if string(d.Body) != strconv.Itoa(i) || d.ConsumerTag != "ctag" || d.DeliveryTag != uint64(i) ||
			d.Exchange != "" || d.RoutingKey != q || d.Redelivered {
			t.Errorf("delivery %d: body %q tag %s/%d exchange %q key %q redelivered %v",
				i, d.Body, d.ConsumerTag, d.DeliveryTag, d.Exchange, d.RoutingKey, d.Redelivered)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Cancel("ctag", false); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	select {
	case d, ok := <-ds:
		if ok {
			t.Fatalf("delivery %q after cancel", d.Body)
		}
	case <-time.After(rpcTimeout):
		t.Fatal("delivery stream not closed after cancel")
	}
	publishBodies(t, ch, q, "4")
	if n := messageCount(t, ch, q); n != 1 {
		t.Errorf("queue holds %d after cancel, want 1", n)
	}
}

// TestServerCancelOnQueueDelete: deleting a queue sends basic.cancel to its
// consumers (consumer_cancel_notify); the channel stays open.
func TestServerCancelOnQueueDelete(t *testing.T) {
	pending(t)
	ch := channel(t)
	q := newQueue(t, ch, nil)
	cancels := ch.NotifyCancel(make(chan string, 1))
	ds := consume(t, ch, q, "doomed", true, nil)
	if _, err := channel(t).QueueDelete(q, false, false, false); err != nil {
		t.Fatalf("delete: %v", err)
	}
	select {
	case tag := <-cancels:
		if tag != "doomed" {
			t.Errorf("cancelled tag %q, want doomed", tag)
		}
	case <-time.After(rpcTimeout):
		t.Fatal("no basic.cancel from the broker")
	}
	waitFor(t, func() bool {
		select {
		case _, ok := <-ds:
			return !ok
		default:
			return false
		}
	}, rpcTimeout, "delivery stream to close")
	if ch.IsClosed() {
		t.Fatal("channel closed by server-side cancel")
	}
	newQueue(t, ch, nil)
}

// TestConsumerPriorities: the higher-priority consumer gets messages while it has
// prefetch room; the lower one gets the rest; acking makes room again.
func TestConsumerPriorities(t *testing.T) {
	pending(t)
	pub := confirmChannel(t)
	q := newQueue(t, pub, nil)
	high, low := channel(t), channel(t)
	if err := high.Qos(3, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := low.Qos(10, 0, false); err != nil {
		t.Fatal(err)
	}
	lowDs := consume(t, low, q, "low", false, amqp.Table{"x-priority": int32(0)})
	highDs := consume(t, high, q, "high", false, amqp.Table{"x-priority": int32(10)})
	publishBodies(t, pub, q, "1", "2", "3", "4", "5")
	gotHigh := recvBodies(t, highDs, 3)
	gotLow := recvBodies(t, lowDs, 2)
	if !slices.Equal(gotHigh, []string{"1", "2", "3"}) || !slices.Equal(gotLow, []string{"4", "5"}) {
		t.Fatalf("high got %q, low got %q; want [1 2 3] and [4 5]", gotHigh, gotLow)
	}
	if err := high.Ack(3, true); err != nil {
		t.Fatal(err)
	}
	// AMQP orders nothing across connections: a round trip on the acking
	// channel makes sure the broker has taken the ack before the next
	// publish, instead of racing it (a race RabbitMQ's scheduler happens to win).
	if _, err := high.QueueDeclarePassive(q, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	publishBodies(t, pub, q, "6")
	if got := recvBodies(t, highDs, 1); got[0] != "6" {
		t.Errorf("after ack, high got %q, want 6", got)
	}
	expectNoDelivery(t, lowDs)
}

// TestExclusiveConsumer: with an exclusive consumer another consume → 403; an
// exclusive consume on a queue that has a consumer → 403.
func TestExclusiveConsumer(t *testing.T) {
	pending(t)
	ch := channel(t)
	q := newQueue(t, ch, nil)
	if _, err := ch.Consume(q, "excl", true, true, false, false, nil); err != nil {
		t.Fatalf("exclusive consume: %v", err)
	}
	other := channel(t)
	_, err := other.Consume(q, "second", true, false, false, false, nil)
	e := expectChannelClose(t, other, err, amqp.AccessRefused)
	expectText(t, e, "ACCESS_REFUSED - queue '"+q+"' in vhost '/' in exclusive use")

	q2 := newQueue(t, ch, nil)
	consume(t, ch, q2, "plain", true, nil)
	other = channel(t)
	_, err = other.Consume(q2, "excl2", true, true, false, false, nil)
	e = expectChannelClose(t, other, err, amqp.AccessRefused)
	expectText(t, e, "ACCESS_REFUSED - queue '"+q2+"' in vhost '/' in exclusive use")
}

// countDeliveries receives from each stream until want deliveries arrived in total,
// then waits quietPeriod to see that no more come, and returns per-stream counts.
func countDeliveries(t testing.TB, want int, streams ...<-chan amqp.Delivery) []int {
	t.Helper()
	counts := make([]int, len(streams))
	total := 0
	deadline := time.After(rpcTimeout)
	quiet := (<-chan time.Time)(nil)
	for {
		if total == want && quiet == nil {
			quiet = time.After(quietPeriod)
		}
		got := -1
		select {
		case <-streams[0]:
			got = 0
		case <-pick(streams, 1):
			got = 1
		case <-deadline:
			t.Fatalf("got %d deliveries %v, want %d", total, counts, want)
		case <-quiet:
			return counts
		}
		counts[got]++
		total++
		if total > want {
			t.Fatalf("got more than %d deliveries: %v", want, counts)
		}
	}
}

// pick returns streams[i] or nil (blocks forever in a select).
func pick(streams []<-chan amqp.Delivery, i int) <-chan amqp.Delivery {
	if i < len(streams) {
		return streams[i]
	}
	return nil
}

// TestPrefetch: basic.qos global=false limits each consumer of the channel
// separately; global=true limits the channel as a whole; set in that order both
// are enforced. RabbitMQ quirk (3.10, rabbit_channel): a global=false qos issued
// after a global=true one removes the channel-wide limit, so only the per-consumer
// limit remains.
func TestPrefetch(t *testing.T) {
	pending(t)
	type qos struct {
		count  int
		global bool
	}
	cases := []struct {
		name        string
		calls       []qos
		perConsumer int
		wantTotal   int
	}{
		{"per-consumer", []qos{{2, false}}, 2, 4},
		{"global", []qos{{3, true}}, 0, 3},
		{"per-consumer-then-global", []qos{{2, false}, {3, true}}, 2, 3},
		{"global-then-per-consumer", []qos{{3, true}, {2, false}}, 2, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pending(t)
			pub := confirmChannel(t)
			q := newQueue(t, pub, nil)
			ch := channel(t)
			for _, call := range c.calls {
				if err := ch.Qos(call.count, 0, call.global); err != nil {
					t.Fatal(err)
				}
			}
			a := consume(t, ch, q, "a", false, nil)
			b := consume(t, ch, q, "b", false, nil)
			for i := range 10 {
				publishConfirmed(t, pub, "", q, text(strconv.Itoa(i)))
			}
			counts := countDeliveries(t, c.wantTotal, a, b)
			for i, n := range counts {
				if c.perConsumer > 0 && n > c.perConsumer {
					t.Errorf("consumer %d holds %d unacked, above per-consumer prefetch %d", i, n, c.perConsumer)
				}
			}
		})
	}
}

// TestPrefetchSizeRejected: basic.qos with prefetch_size ≠ 0 → 540.
func TestPrefetchSizeRejected(t *testing.T) {
	pending(t)
	conn := dial(t)
	ch := openChannel(t, conn)
	e := expectConnClose(t, conn, ch.Qos(0, 1024, false), amqp.NotImplemented)
	expectText(t, e, "NOT_IMPLEMENTED - prefetch_size!=0 (1024)")
}

// TestBasicGet: get-ok carries the count of messages remaining; an empty queue
// answers get-empty.
func TestBasicGet(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2", "3")
	for i, wantLeft := range []uint32{2, 1, 0} {
		d := getOne(t, ch, q, i != 1)
		if string(d.Body) != strconv.Itoa(i+1) || d.MessageCount != wantLeft || d.DeliveryTag != uint64(i+1) {
			t.Errorf("get %d: body %q count %d tag %d; want %d %d %d", i, d.Body, d.MessageCount, d.DeliveryTag, i+1, wantLeft, i+1)
		}
	}
	expectEmpty(t, ch, q)
}

// TestAckNackRejectMultiple: ack multiple acks every earlier tag; nack multiple
// with requeue returns them; reject and nack without requeue drop.
func TestAckNackRejectMultiple(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2", "3", "4", "5", "6")
	c := channel(t)
	for range 6 {
		getOne(t, c, q, false)
	}
	if err := c.Ack(2, true); err != nil { // 1, 2
		t.Fatal(err)
	}
	if err := c.Nack(4, true, true); err != nil { // 3, 4 back to the queue
		t.Fatal(err)
	}
	if err := c.Reject(5, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Nack(6, false, false); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ch, q, 2)
	for _, want := range []string{"3", "4"} {
		d := getOne(t, ch, q, true)
		if string(d.Body) != want || !d.Redelivered {
			t.Errorf("got %q redelivered=%v, want %s redelivered", d.Body, d.Redelivered, want)
		}
	}
	c.Close()
	expectEmpty(t, ch, q)
}

// TestUnknownDeliveryTag: acking a tag never delivered → 406; acking the same tag
// twice → 406 on the second.
func TestUnknownDeliveryTag(t *testing.T) {
	pending(t)
	ch := channel(t)
	closed := watchClose(ch)
	if err := ch.Ack(99, false); err != nil {
		t.Fatal(err)
	}
	e := asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - unknown delivery tag 99")

	pub := confirmChannel(t)
	q := newQueue(t, pub, nil)
	publishBodies(t, pub, q, "m")
	ch = channel(t)
	d := getOne(t, ch, q, false)
	closed = watchClose(ch)
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	e = asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - unknown delivery tag 1")
}

// TestRecover: basic.recover(requeue=true) redelivers unacked messages with the
// redelivered flag; requeue=false → 540.
func TestRecover(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2")
	c := channel(t)
	ds := consume(t, c, q, "c", false, nil)
	recvBodies(t, ds, 2)
	if err := c.Recover(true); err != nil {
		t.Fatalf("recover: %v", err)
	}
	for _, want := range []string{"1", "2"} {
		d := recv(t, ds)
		if string(d.Body) != want || !d.Redelivered {
			t.Errorf("got %q redelivered=%v, want %s redelivered", d.Body, d.Redelivered, want)
		}
	}
	conn := dial(t)
	c = openChannel(t, conn)
	e := expectConnClose(t, conn, c.Recover(false), amqp.NotImplemented)
	expectText(t, e, "NOT_IMPLEMENTED - requeue=false")
}

// TestRequeueOrder: requeued messages go back to their original position: publish
// 1..5, take all, requeue 4 then 2, publish 6 and 7: the queue delivers 2, 4, 6, 7.
func TestRequeueOrder(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2", "3", "4", "5")
	c := channel(t)
	for range 5 {
		getOne(t, c, q, false)
	}
	for _, step := range []struct {
		tag     uint64
		requeue bool
	}{{4, true}, {2, true}, {1, false}, {3, false}, {5, false}} {
		if step.requeue {
			if err := c.Nack(step.tag, false, true); err != nil {
				t.Fatal(err)
			}
		} else if err := c.Ack(step.tag, false); err != nil {
			t.Fatal(err)
		}
	}
	publishBodies(t, ch, q, "6", "7")
	ds := consume(t, channel(t), q, "", true, nil)
	var got []string
	var redelivered []bool
	for range 4 {
		d := recv(t, ds)
		got = append(got, string(d.Body))
		redelivered = append(redelivered, d.Redelivered)
	}
	if !slices.Equal(got, []string{"2", "4", "6", "7"}) || !slices.Equal(redelivered, []bool{true, true, false, false}) {
		t.Errorf("order %q redelivered %v; want [2 4 6 7] [true true false false]", got, redelivered)
	}
}

// TestRedeliveredOnChannelClose: a message delivered but not acked comes back with
// redelivered=true when its channel closes, ahead of later messages.
func TestRedeliveredOnChannelClose(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2")
	c := channel(t)
	if d := getOne(t, c, q, false); d.Redelivered {
		t.Fatal("first delivery flagged redelivered")
	}
	c.Close()
	waitCount(t, ch, q, 2)
	d := getOne(t, ch, q, true)
	if string(d.Body) != "1" || !d.Redelivered {
		t.Errorf("got %q redelivered=%v, want 1 redelivered", d.Body, d.Redelivered)
	}
	if d := getOne(t, ch, q, true); string(d.Body) != "2" || d.Redelivered {
		t.Errorf("got %q redelivered=%v, want 2 not redelivered", d.Body, d.Redelivered)
	}
}

// TestConsumerTagReuse: reusing a live consumer tag on the same channel → 530
// connection error.
func TestConsumerTagReuse(t *testing.T) {
	pending(t)
	conn := dial(t)
	ch := openChannel(t, conn)
	q := newQueue(t, ch, nil)
	consume(t, ch, q, "dup", true, nil)
	_, err := ch.Consume(q, "dup", true, false, false, false, nil)
	e := expectConnClose(t, conn, err, amqp.NotAllowed)
	expectText(t, e, "NOT_ALLOWED - attempt to reuse consumer tag 'dup'")
}

// TestSingleActiveConsumer: only the first consumer receives; new messages go to the
// next consumer once it cancels, and its unacked ones once its channel closes;
// declare-ok counts both consumers. RabbitMQ 3.10 allows basic.get on a classic SAC
// queue (the reference, from current main, lists 405; 3.10 refuses it only for
// quorum queues).
func TestSingleActiveConsumer(t *testing.T) {
	pending(t)
	pub := confirmChannel(t)
	q := newQueue(t, pub, amqp.Table{"x-single-active-consumer": true})
	first, second := channel(t), channel(t)
	firstDs := consume(t, first, q, "first", false, nil)
	secondDs := consume(t, second, q, "second", false, nil)
	publishBodies(t, pub, q, "1", "2", "3")
	got := recvBodies(t, firstDs, 3)
	if !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("active consumer got %q, want [1 2 3]", got)
	}
	if err := first.Ack(1, false); err != nil {
		t.Fatal(err)
	}
	expectNoDelivery(t, secondDs)
	qi, err := pub.QueueDeclarePassive(q, false, false, false, false, nil)
	if err != nil || qi.Consumers != 2 {
		t.Fatalf("declare-ok consumers %d (%v), want 2", qi.Consumers, err)
	}
	if err := first.Cancel("first", false); err != nil {
		t.Fatal(err)
	}
	publishBodies(t, pub, q, "4")
	// Cancel does not requeue the cancelled consumer's unacked messages: the channel
	// still holds 2 and 3. Closing it does.
	if got := recvBodies(t, secondDs, 1); got[0] != "4" {
		t.Fatalf("after cancel, second got %q, want 4", got)
	}
	first.Close()
	var last amqp.Delivery
	for _, want := range []string{"2", "3"} {
		last = recv(t, secondDs)
		if string(last.Body) != want || !last.Redelivered {
			t.Errorf("second got %q redelivered=%v, want %s redelivered", last.Body, last.Redelivered, want)
		}
	}
	if err := last.Ack(true); err != nil {
		t.Fatal(err)
	}
	if err := second.Cancel("second", false); err != nil {
		t.Fatal(err)
	}
	publishBodies(t, pub, q, "5")
	if d := getOne(t, pub, q, true); string(d.Body) != "5" {
		t.Errorf("basic.get on SAC queue got %q, want 5", d.Body)
	}
}

// TestDirectReplyTo: a requester consuming amq.rabbitmq.reply-to (no-ack) publishes
// with reply-to set; the responder sees a generated amq.rabbitmq.reply-to.* name and
// its reply (default exchange, that name as key) reaches the requester.
func TestDirectReplyTo(t *testing.T) {
	pending(t)
	responder := confirmChannel(t)
	q := newQueue(t, responder, nil)
	requests := consume(t, responder, q, "responder", true, nil)

	requester := channel(t)
	replies := consume(t, requester, "amq.rabbitmq.reply-to", "requester", true, nil)
	publish(t, requester, "", q, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: "c1", Body: []byte("ping")})

	req := recv(t, requests)
	if !strings.HasPrefix(req.ReplyTo, "amq.rabbitmq.reply-to.") || string(req.Body) != "ping" {
		t.Fatalf("request reply-to %q body %q; want amq.rabbitmq.reply-to.* ping", req.ReplyTo, req.Body)
	}
	publishConfirmed(t, responder, "", req.ReplyTo, amqp.Publishing{CorrelationId: req.CorrelationId, Body: []byte("pong")})
	reply := recv(t, replies)
	if string(reply.Body) != "pong" || reply.CorrelationId != "c1" || reply.ConsumerTag != "requester" || reply.RoutingKey != req.ReplyTo {
		t.Errorf("reply %q corr %q tag %q key %q", reply.Body, reply.CorrelationId, reply.ConsumerTag, reply.RoutingKey)
	}
}

// TestDirectReplyToErrors: consuming amq.rabbitmq.reply-to with acks → 406;
// publishing with reply-to amq.rabbitmq.reply-to without such a consumer → 406.
func TestDirectReplyToErrors(t *testing.T) {
	pending(t)
	ch := channel(t)
	_, err := ch.Consume("amq.rabbitmq.reply-to", "", false, false, false, false, nil)
	e := expectChannelClose(t, ch, err, amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - reply consumer cannot acknowledge")

	ch = channel(t)
	closed := watchClose(ch)
	publish(t, ch, "", "e2e-anything", amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("x")})
	e = asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - fast reply consumer does not exist")
}

// TestAcksBeforeCloseAreKept: acks sent just before a channel or connection
// closes still count: nothing acked comes back.
func TestAcksBeforeCloseAreKept(t *testing.T) {
	pending(t)
	pub := confirmChannel(t)
	q := newQueue(t, pub, nil)
	for i := range 20 {
		publishConfirmed(t, pub, "", q, text(strconv.Itoa(i)))
	}
	conn := dial(t)
	ch := openChannel(t, conn)
	ds, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		d := <-ds
		if err := d.Ack(false); err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
	}
	if err := ch.Close(); err != nil { // the other 10 deliveries go back unacked
		t.Fatal(err)
	}
	conn.Close()
	waitCount(t, pub, q, 10) // 20 if the acks had been lost
}

// TestNoAckConsumerDrainsBacklog: an auto-ack consumer keeps receiving
// through many delivery windows (Warren hands no-ack deliveries out in
// windows of 2048 and refills them as the socket takes them). A lost refill
// stalls the consumer until some unrelated write, such as a heartbeat
// seconds later; a correct broker never pauses that long with messages
// waiting, so the test fails on any gap of 2.5s.
func TestNoAckConsumerDrainsBacklog(t *testing.T) {
	pending(t)
	const n = 100000
	pub := confirmChannel(t)
	q := newQueue(t, pub, nil)
	body := []byte("0123456789abcdef")
	for i := 0; i < n; i++ {
		if err := pub.Publish("", q, false, false, amqp.Publishing{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return messageCount(t, pub, q) == n }, 30*time.Second, "%d messages stored", n)
	ds := consume(t, channel(t), q, "", true, nil)
	for got := 0; got < n; got++ {
		select {
		case <-ds:
		case <-time.After(2500 * time.Millisecond):
			t.Fatalf("no delivery for 2.5s after %d of %d with the rest waiting: the consumer stalled", got, n)
		}
	}
}

// TestUnknownDeliveryTagMultiple: a multiple ack whose tag is not an
// outstanding delivery (already acked, or never sent) is refused with 406,
// like a single one (rabbit_channel:collect_acks).
func TestUnknownDeliveryTagMultiple(t *testing.T) {
	pending(t)
	pub := confirmChannel(t)
	q := newQueue(t, pub, nil)
	publishBodies(t, pub, q, "1", "2")
	ch := channel(t)
	getOne(t, ch, q, false)
	getOne(t, ch, q, false)
	closed := watchClose(ch)
	if err := ch.Ack(2, true); err != nil {
		t.Fatal(err)
	}
	if err := ch.Ack(2, true); err != nil {
		t.Fatal(err)
	}
	e := asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - unknown delivery tag 2")
}
