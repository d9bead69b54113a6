package e2e

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestConsumerAckTimeout (Warren only: the timeout is set by a flag here and
// by rabbitmq.conf there): a delivery left unacked past the consumer timeout
// closes its channel with RabbitMQ's 406 text, and the message goes back to
// the queue, redelivered.
func TestConsumerAckTimeout(t *testing.T) {
	pending(t)
	w := startWarren(t, t.TempDir(), "--consumer-timeout", "500ms")
	conn := dialURL(t, w.URL())
	pub := openChannel(t, conn)
	q := declareQueue(t, pub, uniqueName(t, "q"), nil).Name
	if err := pub.Publish("", q, false, false, amqp.Publishing{Body: []byte("slow")}); err != nil {
		t.Fatal(err)
	}
	ch := openChannel(t, conn)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	ds, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ds:
	case <-time.After(rpcTimeout):
		t.Fatal("no delivery")
	}
	start := time.Now()
	var e *amqp.Error
	select {
	case e = <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("channel not closed within 10s of a 500ms consumer timeout")
	}
	if e == nil || e.Code != amqp.PreconditionFailed ||
		!strings.HasPrefix(e.Reason, "PRECONDITION_FAILED - delivery acknowledgement on channel ") ||
		!strings.Contains(e.Reason, "timed out. Timeout value used: 500 ms") {
		t.Fatalf("channel closed with %v, want 406 delivery acknowledgement timed out", e)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("closed %v after the delivery; the timeout is 500ms", time.Since(start))
	}
	again := openChannel(t, conn)
	d := getOne(t, again, q, true)
	if string(d.Body) != "slow" || !d.Redelivered {
		t.Fatalf("after the timeout got %q redelivered=%v, want the same message redelivered", d.Body, d.Redelivered)
	}
}
