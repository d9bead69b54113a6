package e2e

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestMandatoryReturn: an unroutable mandatory message comes back as basic.return
// 312 NO_ROUTE with its properties and body, before the publisher's ack; without
// mandatory it is acked and dropped silently.
func TestMandatoryReturn(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	returns := ch.NotifyReturn(make(chan amqp.Return, 2))
	key := uniqueName(t, "nowhere")
	msg := amqp.Publishing{
		ContentType: "text/plain", MessageId: "m-1", CorrelationId: "c-1",
		Headers: amqp.Table{"h": "v"}, Body: []byte("returned"),
	}
	if !publishConfirm(t, ch, "amq.direct", key, true, msg) {
		t.Fatal("unroutable mandatory message was nacked; want ack")
	}
	select {
	case r := <-returns:
		if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.Exchange != "amq.direct" || r.RoutingKey != key {
			t.Errorf("return %d %q %s/%s; want 312 NO_ROUTE amq.direct/%s", r.ReplyCode, r.ReplyText, r.Exchange, r.RoutingKey, key)
		}
		if string(r.Body) != "returned" || r.ContentType != "text/plain" || r.MessageId != "m-1" ||
			r.CorrelationId != "c-1" || !reflect.DeepEqual(r.Headers, amqp.Table{"h": "v"}) {
			t.Errorf("returned message lost content: %+v", r)
		}
	default:
		t.Fatal("ack arrived before (or without) the basic.return")
	}
	if !publishConfirm(t, ch, "amq.direct", key, false, text("dropped")) {
		t.Fatal("unroutable message was nacked; want ack")
	}
	select {
	case r := <-returns:
		t.Fatalf("non-mandatory message returned: %q", r.Body)
	default:
	}
}

// TestConfirmsAllAcked: N messages published without waiting are each confirmed
// exactly once with an ack, tags 1..N.
func TestConfirmsAllAcked(t *testing.T) {
	pending(t)
	const n = 1000
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
	for i := range n {
		publish(t, ch, "", q, text(strconv.Itoa(i)))
	}
	for want := uint64(1); want <= n; want++ {
		select {
		case c := <-confirms:
			if c.DeliveryTag != want || !c.Ack {
				t.Fatalf("confirmation %+v, want ack of tag %d", c, want)
			}
		case <-time.After(rpcTimeout):
			t.Fatalf("only %d of %d confirmed", want-1, n)
		}
	}
	waitCount(t, ch, q, n)
}

// TestConfirmsMultipleRaw: reading the raw basic.ack frames, the acks of N
// pipelined publishes cover tags 1..N exactly once, using multiple=true ranges
// (RabbitMQ coalesces; Warren may too, so fewer frames than messages is allowed, not
// required).
func TestConfirmsMultipleRaw(t *testing.T) {
	pending(t)
	const n = 500
	q := newQueue(t, channel(t), nil)
	rc := rawHandshake(t)
	rc.openChannel(1)
	rc.sendMethod(1, classConfirm, 10, []byte{0})
	rc.expectMethod(1, classConfirm, 11)
	var burst []byte
	for i := range n {
		burst = append(burst, encodeFrame(frameMethod, 1, methodPayload(classBasic, 40, basicPublishArgs("", q, false, false)))...)
		body := []byte(strconv.Itoa(i))
		burst = append(burst, encodeFrame(frameHeader, 1, contentHeader(uint64(len(body))))...)
		burst = append(burst, encodeFrame(frameBody, 1, body)...)
	}
	rc.write(burst)
	confirmed := uint64(0) // all tags <= confirmed are acked
	frames, multiples := 0, 0
	for confirmed < n {
		f := rc.expectMethod(1, classBasic, 80)
		r := rbuf{b: f.payload[4:]}
		tag, multiple := r.longlong(), r.octet()&1 == 1
		frames++
		switch {
		case multiple && tag > confirmed:
			multiples++
			confirmed = tag
		case !multiple && tag == confirmed+1:
			confirmed = tag
		default:
			t.Fatalf("ack tag %d multiple=%v after tags 1..%d were acked", tag, multiple, confirmed)
		}
	}
	if confirmed != n {
		t.Fatalf("acked up to %d, want %d", confirmed, n)
	}
	t.Logf("%d messages confirmed by %d ack frames (%d with multiple=true)", n, frames, multiples)
}

// TestConfirmNackOnRejectPublish: with x-overflow reject-publish a full queue makes
// the broker nack the publish; the message is not enqueued.
func TestConfirmNackOnRejectPublish(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
	if !publishConfirm(t, ch, "", q, false, text("1")) {
		t.Fatal("first message nacked")
	}
	if publishConfirm(t, ch, "", q, false, text("2")) {
		t.Fatal("second message acked; want nack (queue full, reject-publish)")
	}
	if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"1"}) {
		t.Errorf("queue holds %q, want [1]", got)
	}
}

// TestTxPublish: published messages are invisible until tx.commit; rolled-back ones
// never arrive.
func TestTxPublish(t *testing.T) {
	pending(t)
	ch := channel(t)
	q := newQueue(t, ch, nil)
	tx := channel(t)
	if err := tx.Tx(); err != nil {
		t.Fatalf("tx.select: %v", err)
	}
	publish(t, tx, "", q, text("rolled-back-1"))
	publish(t, tx, "", q, text("rolled-back-2"))
	if n := messageCount(t, ch, q); n != 0 {
		t.Fatalf("%d messages visible before commit", n)
	}
	if err := tx.TxRollback(); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	publish(t, tx, "", q, text("committed-1"))
	publish(t, tx, "", q, text("committed-2"))
	if err := tx.TxCommit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	// commit-ok means the messages are enqueued: no polling needed.
	if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"committed-1", "committed-2"}) {
		t.Errorf("queue holds %q, want [committed-1 committed-2]", got)
	}
}

// TestTxAcks: a rolled-back ack (or reject) leaves the message unacked, so it is
// redelivered after the channel closes; a committed ack removes it.
func TestTxAcks(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2", "3")
	tx := channel(t)
	if err := tx.Tx(); err != nil {
		t.Fatalf("tx.select: %v", err)
	}
	d1, d2, d3 := getOne(t, tx, q, false), getOne(t, tx, q, false), getOne(t, tx, q, false)
	if err := d1.Ack(false); err != nil {
		t.Fatal(err)
	}
	if err := d3.Reject(false); err != nil {
		t.Fatal(err)
	}
	if err := tx.TxRollback(); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if err := d2.Ack(false); err != nil {
		t.Fatal(err)
	}
	if err := tx.TxCommit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := tx.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitCount(t, ch, q, 2)
	for _, want := range []string{"1", "3"} {
		d := getOne(t, ch, q, true)
		if string(d.Body) != want || !d.Redelivered {
			t.Errorf("got %q redelivered=%v, want %s redelivered", d.Body, d.Redelivered, want)
		}
	}
}

// TestTxConfirmExclusive: a confirm channel cannot become transactional and a
// transactional one cannot enter confirm mode (406); commit or rollback on a
// non-transactional channel → 406.
func TestTxConfirmExclusive(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	e := expectChannelClose(t, ch, ch.Tx(), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - cannot switch from confirm to tx mode")

	ch = channel(t)
	if err := ch.Tx(); err != nil {
		t.Fatal(err)
	}
	e = expectChannelClose(t, ch, ch.Confirm(false), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")

	ch = channel(t)
	e = expectChannelClose(t, ch, ch.TxCommit(), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - channel is not transactional")

	ch = channel(t)
	e = expectChannelClose(t, ch, ch.TxRollback(), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - channel is not transactional")
}

// TestUserIDValidation: user-id equal to the login user is delivered as is; any
// other value → 406.
func TestUserIDValidation(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishConfirmed(t, ch, "", q, amqp.Publishing{UserId: "guest", Body: []byte("ok")})
	if d := getOne(t, ch, q, true); d.UserId != "guest" {
		t.Errorf("user-id %q, want guest", d.UserId)
	}
	pub := channel(t)
	closed := watchClose(pub)
	publish(t, pub, "", q, amqp.Publishing{UserId: "bob", Body: []byte("spoofed")})
	e := asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'")
	expectEmpty(t, ch, q)
}

// maxMessageSize is the broker's max_message_size: E2E_MAX_MESSAGE_SIZE, else 16 MiB
// (Warren's default and RabbitMQ 4.x's). RabbitMQ 3.10's default is 128 MiB;
// scripts/conformance.sh configures 16 MiB, or exports the running broker's value.
func maxMessageSize(t testing.TB) int {
	s := os.Getenv("E2E_MAX_MESSAGE_SIZE")
	if s == "" {
		return 16 << 20
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("E2E_MAX_MESSAGE_SIZE=%q: want a positive integer", s)
	}
	return n
}

// TestMaxMessageSize: a body of exactly max_message_size is accepted; one byte more
// → 406 "message size N is larger than configured max size M".
func TestMaxMessageSize(t *testing.T) {
	pending(t)
	limit := maxMessageSize(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	body := bytes.Repeat([]byte{'x'}, limit+1)
	publishConfirmed(t, ch, "", q, amqp.Publishing{Body: body[:limit]})
	if d := getOne(t, ch, q, true); len(d.Body) != limit {
		t.Errorf("delivered %d bytes, want %d", len(d.Body), limit)
	}
	pub := channel(t)
	closed := watchClose(pub)
	publish(t, pub, "", q, amqp.Publishing{Body: body})
	e := asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed)
	expectText(t, e, fmt.Sprintf("PRECONDITION_FAILED - message size %d is larger than configured max size %d", limit+1, limit))
	expectEmpty(t, ch, q)
}

// TestImmediateFlag: basic.publish with immediate=true → 540 connection error.
func TestImmediateFlag(t *testing.T) {
	pending(t)
	conn := dial(t)
	ch := openChannel(t, conn)
	closed := watchConnClose(conn)
	if err := ch.Publish("", "e2e-immediate", false, true, text("x")); err != nil {
		t.Fatal(err)
	}
	e := asAMQPError(t, awaitClose(t, closed), amqp.NotImplemented)
	expectText(t, e, "NOT_IMPLEMENTED - immediate=true")
}

// TestPropertiesRoundTrip: every basic property and header value type arrives as
// published.
func TestPropertiesRoundTrip(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	ts := time.Unix(1700000000, 0)
	headers := amqp.Table{
		"bool": true, "int8": int8(-8), "int16": int16(-16), "int32": int32(-32), "int64": int64(-64),
		"float32": float32(1.5), "float64": 2.25, "string": "s", "bytes": []byte{0, 1, 2},
		"decimal": amqp.Decimal{Scale: 2, Value: 12345}, "time": ts, "void": nil,
		"table": amqp.Table{"nested": "yes"}, "array": []any{"a", int32(1), true},
	}
	msg := amqp.Publishing{
		ContentType: "application/json", ContentEncoding: "gzip", Headers: headers,
		DeliveryMode: amqp.Persistent, Priority: 7, CorrelationId: "corr", ReplyTo: "reply",
		Expiration: "600000", MessageId: "mid", Timestamp: ts, Type: "kind", UserId: "guest",
		AppId: "app", Body: []byte("body"),
	}
	publishConfirmed(t, ch, "", q, msg)
	d := getOne(t, ch, q, true)
	got := amqp.Publishing{
		ContentType: d.ContentType, ContentEncoding: d.ContentEncoding, Headers: d.Headers,
		DeliveryMode: d.DeliveryMode, Priority: d.Priority, CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo,
		Expiration: d.Expiration, MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, UserId: d.UserId,
		AppId: d.AppId, Body: d.Body,
	}
	if !reflect.DeepEqual(got, msg) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, msg)
	}
	if d.Exchange != "" || d.RoutingKey != q || d.Redelivered || d.MessageCount != 0 {
		t.Errorf("get-ok exchange %q key %q redelivered %v count %d", d.Exchange, d.RoutingKey, d.Redelivered, d.MessageCount)
	}
}

// TestBodySizes: empty, one-frame and multi-frame bodies (larger than frame_max)
// arrive intact.
func TestBodySizes(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	sizes := []int{0, 1, 131072 - 8, 131072 - 7, 131072, 3*131072 + 17}
	for _, n := range sizes {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i * 7)
		}
		publishConfirmed(t, ch, "", q, amqp.Publishing{Body: body})
		d := getOne(t, ch, q, true)
		if !bytes.Equal(d.Body, body) {
			t.Errorf("body of %d bytes came back as %d bytes (or corrupted)", n, len(d.Body))
		}
	}
}

// TestPersistentMessagesSurviveRestart (Warren only): after a graceful restart a
// durable queue keeps its persistent messages in order and loses its transient
// ones; a transient queue is gone.
func TestPersistentMessagesSurviveRestart(t *testing.T) {
	pending(t)
	w := startWarren(t, t.TempDir())
	conn := dialURL(t, w.URL())
	ch := openChannel(t, conn)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	durable, transient := "e2e.restart.durable", "e2e.restart.transient"
	if _, err := ch.QueueDeclare(durable, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(transient, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for i, mode := range []uint8{amqp.Persistent, amqp.Transient, amqp.Persistent} {
		publishConfirmed(t, ch, "", durable, amqp.Publishing{DeliveryMode: mode, Body: []byte(strconv.Itoa(i))})
	}
	conn.Close()
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := w.Restart(); err != nil {
		t.Fatal(err)
	}
	ch = openChannel(t, dialURL(t, w.URL()))
	if got := drainBodies(t, ch, durable); !slices.Equal(got, []string{"0", "2"}) {
		t.Errorf("durable queue after restart holds %q, want [0 2]", got)
	}
	_, err := ch.QueueDeclarePassive(transient, false, false, false, false, nil)
	expectChannelClose(t, ch, err, amqp.NotFound)
}
