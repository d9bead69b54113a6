package e2e

import (
	"slices"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestMaxLengthDropHead: with x-max-length the oldest ready messages are dropped;
// unacked messages do not count and are not dropped.
func TestMaxLengthDropHead(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-max-length": int32(2)})
	publishBodies(t, ch, q, "1", "2", "3", "4")
	if got := messageCount(t, ch, q); got != 2 {
		t.Fatalf("queue holds %d, want 2", got)
	}
	holder := channel(t)
	held := getOne(t, holder, q, false) // "3", unacked
	publishBodies(t, ch, q, "5", "6")
	if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"5", "6"}) {
		t.Errorf("ready messages %q, want [5 6]", got)
	}
	if string(held.Body) != "3" {
		t.Errorf("first ready after overflow was %q, want 3", held.Body)
	}
	holder.Close()
	waitCount(t, ch, q, 1)
	if d := getOne(t, ch, q, true); string(d.Body) != "3" || !d.Redelivered {
		t.Errorf("unacked message came back as %q redelivered=%v", d.Body, d.Redelivered)
	}
}

// TestMaxLengthBytes: x-max-length-bytes counts body bytes; the oldest messages go
// until the rest fit; a message larger than the limit on its own is dropped too.
func TestMaxLengthBytes(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-max-length-bytes": int32(10)})
	publishBodies(t, ch, q, "aaaaa", "bbbbb", "ccccc")
	if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"bbbbb", "ccccc"}) {
		t.Errorf("queue holds %q, want [bbbbb ccccc]", got)
	}
	publishBodies(t, ch, q, "aaaaa", "0123456789X")
	if got := drainBodies(t, ch, q); len(got) != 0 {
		t.Errorf("queue holds %q after an oversize message, want nothing", got)
	}
}

// TestRejectPublish: with x-overflow reject-publish a full queue nacks the publish
// and keeps its messages; the message still reaches other queues.
func TestRejectPublish(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	ex := newExchange(t, ch, "fanout", nil)
	limited := newQueue(t, ch, amqp.Table{"x-max-length": int32(2), "x-overflow": "reject-publish"})
	other := newQueue(t, ch, nil)
	bindQueue(t, ch, limited, "", ex, nil)
	bindQueue(t, ch, other, "", ex, nil)
	var acks []bool
	for _, b := range []string{"1", "2", "3"} {
		acks = append(acks, publishConfirm(t, ch, ex, "", false, text(b)))
	}
	if !slices.Equal(acks, []bool{true, true, false}) {
		t.Errorf("confirms %v, want [true true false]", acks)
	}
	if got := drainBodies(t, ch, limited); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("limited queue holds %q, want [1 2]", got)
	}
	if got := drainBodies(t, ch, other); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("other queue holds %q, want [1 2 3]", got)
	}
	if !publishConfirm(t, ch, ex, "", false, text("4")) {
		t.Error("publish after the queue drained was nacked")
	}
}

// TestRejectPublishDLX: x-overflow reject-publish-dlx nacks the publish and
// dead-letters the rejected message with reason maxlen.
func TestRejectPublishDLX(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	src, _, dlq := dlxSetup(t, ch, amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish-dlx"})
	if !publishConfirm(t, ch, "", src, false, text("kept")) {
		t.Fatal("first message nacked")
	}
	if publishConfirm(t, ch, "", src, false, text("rejected")) {
		t.Fatal("second message acked; want nack")
	}
	waitCount(t, ch, dlq, 1)
	dead := getOne(t, ch, dlq, true)
	if string(dead.Body) != "rejected" {
		t.Errorf("dead-lettered %q, want rejected", dead.Body)
	}
	expectDeath(t, xDeath(t, dead)[0], amqp.Table{
		"count": int64(1), "reason": "maxlen", "queue": src, "exchange": "", "routing-keys": []any{src},
	})
	if got := drainBodies(t, ch, src); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("source holds %q, want [kept]", got)
	}
}

// TestPriorityQueue: higher priority first, FIFO within a priority; a priority above
// x-max-priority counts as the maximum (the property is delivered unchanged); no
// priority counts as 0.
func TestPriorityQueue(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-max-priority": int32(5)})
	msgs := []struct {
		body     string
		priority uint8
	}{{"a", 0}, {"b", 3}, {"c", 5}, {"d", 9}, {"e", 1}, {"f", 0}, {"g", 3}}
	for _, m := range msgs {
		publishConfirmed(t, ch, "", q, amqp.Publishing{Priority: m.priority, Body: []byte(m.body)})
	}
	var got []string
	for range msgs {
		d := getOne(t, ch, q, true)
		got = append(got, string(d.Body))
		if string(d.Body) == "d" && d.Priority != 9 {
			t.Errorf("priority property of d delivered as %d, want 9", d.Priority)
		}
	}
	if want := []string{"c", "d", "b", "g", "e", "a", "f"}; !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

// TestPriorityWithConsumer: a consumer with prefetch 1 sees the highest-priority
// message waiting each time it acks.
func TestPriorityWithConsumer(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-max-priority": int32(10)})
	c := channel(t)
	if err := c.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	publishConfirmed(t, ch, "", q, amqp.Publishing{Priority: 1, Body: []byte("first")})
	ds := consume(t, c, q, "", false, nil)
	d := recv(t, ds) // "first" is taken at once; the rest queue up behind it
	for _, p := range []uint8{2, 8, 5} {
		publishConfirmed(t, ch, "", q, amqp.Publishing{Priority: p, Body: []byte{'0' + p}})
	}
	got := []string{string(d.Body)}
	for range 3 {
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
		d = recv(t, ds)
		got = append(got, string(d.Body))
	}
	if want := []string{"first", "8", "5", "2"}; !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}
