package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Split deployment only: behaviour that spans the two gateways of the
// deployment — one cluster, whichever gateway a client reaches.

// topologySpread bounds how long a topology change made through one gateway
// may take to be seen by the others (issue 3: within one second).
const topologySpread = time.Second

// twoGateways skips unless the suite runs against the split deployment and
// returns a connection to each gateway.
func twoGateways(t *testing.T) (gw1, gw2 *amqp.Connection) {
	t.Helper()
	if !splitShape() || usingExternalBroker() {
		t.Skip("needs the split deployment (E2E_SHAPE=split)")
	}
	brokerURL(t) // starts the deployment
	return dialURL(t, suite.split.gateways[0]), dialURL(t, suite.split.gateways[1])
}

// TestCrossGatewayPublishConsume: messages published with confirms through
// gateway 1 are consumed through gateway 2, all of them, in order.
func TestCrossGatewayPublishConsume(t *testing.T) {
	pending(t)
	gw1, gw2 := twoGateways(t)
	pub := openChannel(t, gw1)
	if err := pub.Confirm(false); err != nil {
		t.Fatal(err)
	}
	q := newQueue(t, pub, nil)
	const n = 200
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("m%03d", i)
	}
	publishBodies(t, pub, q, want...)
	sub := openChannel(t, gw2)
	if err := sub.Qos(50, 0, false); err != nil {
		t.Fatal(err)
	}
	ds := consume(t, sub, q, "", false, nil)
	for i, w := range want {
		d := recv(t, ds)
		if string(d.Body) != w || d.Redelivered {
			t.Fatalf("delivery %d: %q redelivered=%v, want %q first delivery", i, d.Body, d.Redelivered, w)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	expectNoDelivery(t, ds)
}

// routedVia publishes one mandatory message on a confirm channel and
// reports whether it was routed: a basic.return arrives before its ack.
func routedVia(t *testing.T, ch *amqp.Channel, returns <-chan amqp.Return, exchange, key string) bool {
	t.Helper()
	if !publishConfirm(t, ch, exchange, key, true, text("probe")) {
		t.Fatalf("probe to %s/%s nacked", exchange, key)
	}
	select {
	case <-returns:
		return false
	default:
		return true
	}
}

// within polls cond until it holds or bound has passed since start; it
// fails the test with how long it took otherwise.
func within(t *testing.T, start time.Time, bound time.Duration, cond func() bool, what string) {
	t.Helper()
	for !cond() {
		if took := time.Since(start); took > bound {
			t.Fatalf("%s: not seen within %v (%v)", what, bound, took)
		}
		time.Sleep(pollInterval)
	}
	if took := time.Since(start); took > bound {
		t.Fatalf("%s: took %v, want at most %v", what, took, bound)
	}
}

// TestCrossGatewayBinding: an exchange, a queue and a binding declared
// through gateway 1 route a message published through gateway 2 within a
// second of bind-ok, and the unbind is seen there within a second too.
func TestCrossGatewayBinding(t *testing.T) {
	pending(t)
	gw1, gw2 := twoGateways(t)
	admin := openChannel(t, gw1)
	x := newExchange(t, admin, "direct", nil)
	q := newQueue(t, admin, nil)
	pub := openChannel(t, gw2)
	if err := pub.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := pub.NotifyReturn(make(chan amqp.Return, 64))
	if routedVia(t, pub, returns, x, "k") {
		t.Fatal("routed through gateway 2 before any binding")
	}

	bindQueue(t, admin, q, "k", x, nil)
	within(t, time.Now(), topologySpread, func() bool { return routedVia(t, pub, returns, x, "k") },
		"the binding made through gateway 1 routing on gateway 2")
	if got := messageCount(t, admin, q); got < 1 {
		t.Fatalf("the queue holds %d messages after a routed publish", got)
	}

	if err := admin.QueueUnbind(q, "k", x, nil); err != nil {
		t.Fatal(err)
	}
	within(t, time.Now(), topologySpread, func() bool { return !routedVia(t, pub, returns, x, "k") },
		"the unbind made through gateway 1 on gateway 2")
}

// TestCrossGatewayBindingAtOnce: as on RabbitMQ, whose topology writes are
// synchronous, bind-ok through gateway 1 means gateway 2 routes with the
// binding: a publish made right after it is routed the first time.
func TestCrossGatewayBindingAtOnce(t *testing.T) {
	pending(t)
	gw1, gw2 := twoGateways(t)
	admin := openChannel(t, gw1)
	pub := openChannel(t, gw2)
	if err := pub.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := pub.NotifyReturn(make(chan amqp.Return, 64))
	for i := range 20 {
		x := newExchange(t, admin, "direct", nil)
		q := newQueue(t, admin, nil)
		bindQueue(t, admin, q, "k", x, nil)
		if !routedVia(t, pub, returns, x, "k") {
			t.Fatalf("round %d: a publish through gateway 2 right after bind-ok through gateway 1 was returned unroutable", i)
		}
	}
}

// TestCrossGatewayConsumerCount: declare-ok counts the consumers of every
// gateway, through either gateway.
func TestCrossGatewayConsumerCount(t *testing.T) {
	pending(t)
	gw1, gw2 := twoGateways(t)
	ch1, ch2 := openChannel(t, gw1), openChannel(t, gw2)
	q := newQueue(t, ch1, nil)
	consume(t, ch1, q, "c1", false, nil)
	consume(t, ch2, q, "c2", false, nil)
	consume(t, ch2, q, "c3", false, nil)
	for i, ch := range []*amqp.Channel{ch1, ch2} {
		st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Consumers != 3 {
			t.Errorf("passive declare through gateway %d: %d consumers, want 3", i+1, st.Consumers)
		}
	}
	if err := ch2.Cancel("c3", false); err != nil {
		t.Fatal(err)
	}
	st, err := ch1.QueueDeclarePassive(q, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Consumers != 2 {
		t.Errorf("after a cancel through gateway 2, gateway 1 counts %d consumers, want 2", st.Consumers)
	}
}

// autoDeleteGrace bounds how long the control plane may take to delete an
// auto-delete queue after its last consumer left: the storage node reports
// it unused and the control plane deletes it, asynchronously.
const autoDeleteGrace = 2 * time.Second

// TestCrossGatewayAutoDelete: an auto-delete queue with a consumer on each
// gateway survives the first cancel and goes with the second.
func TestCrossGatewayAutoDelete(t *testing.T) {
	pending(t)
	gw1, gw2 := twoGateways(t)
	ch1, ch2 := openChannel(t, gw1), openChannel(t, gw2)
	q := uniqueName(t, "ad")
	if _, err := ch1.QueueDeclare(q, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	cleanupQueue(t, q)
	consume(t, ch1, q, "c1", false, nil)
	consume(t, ch2, q, "c2", false, nil)

	if err := ch1.Cancel("c1", false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(autoDeleteGrace) // long enough for a wrong deletion to happen
	check := openChannel(t, gw1)
	st, err := check.QueueDeclarePassive(q, false, true, false, false, nil)
	if err != nil {
		t.Fatalf("the auto-delete queue went with the first of its two consumers: %v", err)
	}
	if st.Consumers != 1 {
		t.Fatalf("after one cancel: %d consumers, want 1", st.Consumers)
	}

	if err := ch2.Cancel("c2", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return queueGone(t, gw1, q) && queueGone(t, gw2, q) }, autoDeleteGrace,
		"auto-delete queue %s to be deleted after its last consumer left", q)
}

// queueGone reports whether a passive declare through conn answers 404.
func queueGone(t *testing.T, conn *amqp.Connection, q string) bool {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	_, err = ch.QueueDeclarePassive(q, false, true, false, false, nil)
	var ae *amqp.Error
	if err != nil && !(errors.As(err, &ae) && ae.Code == amqp.NotFound) {
		t.Fatalf("passive declare %s: %v", q, err)
	}
	return err != nil
}

// TestCrossGatewayDirectReplyTo: a requester on gateway 1 using direct
// reply-to gets the reply a responder on gateway 2 publishes to its reply
// address.
func TestCrossGatewayDirectReplyTo(t *testing.T) {
	pending(t)
	gw1, gw2 := twoGateways(t)
	requester := openChannel(t, gw1)
	responder := openChannel(t, gw2)
	if err := responder.Confirm(false); err != nil {
		t.Fatal(err)
	}
	q := newQueue(t, responder, nil)
	requests := consume(t, responder, q, "", true, nil)
	replies := consume(t, requester, "amq.rabbitmq.reply-to", "requester", true, nil)
	for i := range 3 {
		id := fmt.Sprintf("c%d", i)
		publish(t, requester, "", q, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: id, Body: []byte("ping")})
		req := recv(t, requests)
		if !strings.HasPrefix(req.ReplyTo, "amq.rabbitmq.reply-to.") {
			t.Fatalf("request reply-to %q; want amq.rabbitmq.reply-to.*", req.ReplyTo)
		}
		publishConfirmed(t, responder, "", req.ReplyTo, amqp.Publishing{CorrelationId: req.CorrelationId, Body: []byte("pong")})
		reply := recv(t, replies)
		if string(reply.Body) != "pong" || reply.CorrelationId != id || reply.ConsumerTag != "requester" || reply.RoutingKey != req.ReplyTo {
			t.Fatalf("reply %q correlation %q tag %q key %q", reply.Body, reply.CorrelationId, reply.ConsumerTag, reply.RoutingKey)
		}
	}
}

// TestCrossGatewayStaleReplyTo: a reply to the address of a requester that
// is gone, published through the other gateway, is dropped — as RabbitMQ
// drops it — and counts as routed for mandatory; the channel stays open.
func TestCrossGatewayStaleReplyTo(t *testing.T) {
	pending(t)
	gw1, gw2 := twoGateways(t)
	requester := openChannel(t, gw1)
	responder := openChannel(t, gw2)
	if err := responder.Confirm(false); err != nil {
		t.Fatal(err)
	}
	q := newQueue(t, responder, nil)
	if err := requester.Confirm(false); err != nil {
		t.Fatal(err)
	}
	consume(t, requester, "amq.rabbitmq.reply-to", "requester", true, nil)
	publishConfirmed(t, requester, "", q, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("ping")})
	req := getOne(t, responder, q, true)
	if err := requester.Close(); err != nil {
		t.Fatal(err)
	}
	returns := responder.NotifyReturn(make(chan amqp.Return, 1))
	if !routedVia(t, responder, returns, "", req.ReplyTo) {
		t.Fatal("a mandatory reply to a gone requester was returned")
	}
	if !routedVia(t, responder, returns, "", "amq.rabbitmq.reply-to.bm90LWFuLWFkZHJlc3M") {
		t.Fatal("a mandatory reply to a malformed address was returned")
	}
	publishConfirmed(t, responder, "", q, text("still open"))
}
