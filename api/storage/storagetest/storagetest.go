// Package storagetest is the contract test suite of api/storage: every
// storage.Node implementation — the storage node in-process, and the same
// node behind gRPC — runs it and must behave the same.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
)

// wait bounds how long a test waits for a delivery or a cancellation.
const wait = 5 * time.Second

// Run runs the suite; newNode returns a fresh, empty node for each test.
func Run(t *testing.T, newNode func(t *testing.T) storage.Node) {
	tests := []struct {
		name string
		fn   func(t *testing.T, n storage.Node)
	}{
		{"AppendAndStats", testAppendAndStats},
		{"AppendToMissingQueue", testAppendToMissingQueue},
		{"StartAppendKeepsOrder", testStartAppendKeepsOrder},
		{"BarrierOrdersSettles", testBarrierOrdersSettles},
		{"ConsumeWithCredit", testConsumeWithCredit},
		{"GetAndRequeue", testGetAndRequeue},
		{"CloseRequeues", testCloseRequeues},
		{"DeleteConditionsAndCancel", testDeleteConditionsAndCancel},
		{"Purge", testPurge},
		{"ExclusiveConsumer", testExclusiveConsumer},
		{"LargeMessage", testLargeMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newNode(t)) })
	}
}

var nextID atomic.Uint64

// newQueue creates a transient queue with a fresh ID.
func newQueue(t *testing.T, n storage.Node) storage.QueueID {
	t.Helper()
	id := storage.QueueID(1000 + nextID.Add(1))
	spec := storage.QueueSpec{ID: id, VHost: "/", Name: fmt.Sprintf("q%d", id),
		MessageTTL: -1, Expires: -1, MaxLength: -1, MaxLengthBytes: -1}
	if err := n.CreateQueue(context.Background(), spec); err != nil {
		t.Fatalf("create queue: %v", err)
	}
	return id
}

func publish(t *testing.T, n storage.Node, q storage.QueueID, bodies ...string) {
	t.Helper()
	batch := make([]storage.Publish, len(bodies))
	for i, b := range bodies {
		batch[i] = storage.Publish{Queues: []storage.QueueID{q}, Msg: &storage.Message{RoutingKey: "k", Body: []byte(b), TTL: -1}}
	}
	outcomes, err := n.Append(context.Background(), batch)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	for i, o := range outcomes {
		if o.Err != nil || len(o.Rejected) > 0 {
			t.Fatalf("append %d: %+v", i, o)
		}
	}
}

func stats(t *testing.T, n storage.Node, q storage.QueueID) storage.QueueStats {
	t.Helper()
	st, err := n.Stats(context.Background(), q)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return st
}

func code(err error) uint16 {
	var re *reply.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

func testAppendAndStats(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	publish(t, n, q, "a", "bb", "ccc")
	if st := stats(t, n, q); st.Ready != 3 || st.Unacked != 0 || st.Consumers != 0 {
		t.Fatalf("stats %+v, want 3 ready", st)
	}
}

func testAppendToMissingQueue(t *testing.T, n storage.Node) {
	outcomes, err := n.Append(context.Background(), []storage.Publish{{
		Queues: []storage.QueueID{987654321}, Msg: &storage.Message{Body: []byte("x"), TTL: -1},
	}})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if len(outcomes) != 1 || code(outcomes[0].Err) != reply.NotFound {
		t.Fatalf("outcomes %+v, want one 404", outcomes)
	}
	if _, err := n.Stats(context.Background(), 987654321); code(err) != reply.NotFound {
		t.Fatalf("stats of a missing queue: %v, want 404", err)
	}
}

func testConsumeWithCredit(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	publish(t, n, q, "1", "2", "3")
	sink := newSink()
	sess := open(t, n, sink)
	if err := sess.Consume(storage.ConsumerSpec{Queue: q, Tag: "c", Credit: 2}); err != nil {
		t.Fatal(err)
	}
	got := sink.take(t, 2)
	if body(got[0]) != "1" || body(got[1]) != "2" || got[0].Tag != "c" {
		t.Fatalf("deliveries %v, want 1 and 2 for c", bodies(got))
	}
	sink.none(t)
	if err := sess.Settle([]storage.Settle{{Queue: q, ID: got[0].ID, Kind: storage.Ack}}, nil); err != nil {
		t.Fatal(err)
	}
	sess.Grant("c", 1)
	if next := sink.take(t, 1); body(next[0]) != "3" {
		t.Fatalf("after a grant got %v, want 3", bodies(next))
	}
	waitFor(t, func() bool { st := stats(t, n, q); return st.Ready == 0 && st.Unacked == 2 && st.Consumers == 1 })
	// Credit can ride with the settlement that frees it.
	publish(t, n, q, "4")
	sink.none(t)
	if err := sess.Settle([]storage.Settle{{Queue: q, ID: got[1].ID, Kind: storage.Ack}}, []storage.Grant{{Tag: "c", Credit: 1}}); err != nil {
		t.Fatal(err)
	}
	if next := sink.take(t, 1); body(next[0]) != "4" {
		t.Fatalf("after a settle with a grant got %v, want 4", bodies(next))
	}
	waitFor(t, func() bool { st := stats(t, n, q); return st.Ready == 0 && st.Unacked == 2 })
}

func testGetAndRequeue(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	publish(t, n, q, "x", "y")
	sess := open(t, n, newSink())
	d, remaining, ok, err := sess.Get(context.Background(), q, false)
	if err != nil || !ok || body(d) != "x" || remaining != 1 || d.Redelivered {
		t.Fatalf("get: %q remaining %d ok %v redelivered %v err %v", body(d), remaining, ok, d.Redelivered, err)
	}
	if err := sess.Settle([]storage.Settle{{Queue: q, ID: d.ID, Kind: storage.Requeue}}, nil); err != nil {
		t.Fatal(err)
	}
	var again storage.Delivery
	waitFor(t, func() bool {
		again, _, ok, err = sess.Get(context.Background(), q, true)
		return err == nil && ok
	})
	if body(again) != "x" || again.ID != d.ID || !again.Redelivered {
		t.Fatalf("after requeue got %q id %d redelivered %v, want x again at its place, redelivered", body(again), again.ID, again.Redelivered)
	}
}

func testCloseRequeues(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	publish(t, n, q, "m")
	sink := newSink()
	sess := open(t, n, sink)
	if err := sess.Consume(storage.ConsumerSpec{Queue: q, Tag: "c", Credit: 10}); err != nil {
		t.Fatal(err)
	}
	sink.take(t, 1)
	select {
	case <-sess.Done():
		t.Fatal("Done closed before Close")
	default:
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sess.Done():
	case <-time.After(wait):
		t.Fatal("Done not closed after Close")
	}
	other := open(t, n, newSink())
	d, _, ok, err := other.Get(context.Background(), q, true)
	if err != nil || !ok || body(d) != "m" || !d.Redelivered {
		t.Fatalf("after close got %q ok %v redelivered %v err %v, want m redelivered", body(d), ok, d.Redelivered, err)
	}
}

func testDeleteConditionsAndCancel(t *testing.T, n storage.Node) {
	ctx := context.Background()
	q := newQueue(t, n)
	publish(t, n, q, "1", "2")
	if _, err := n.DeleteQueue(ctx, q, false, true); code(err) != reply.PreconditionFailed {
		t.Fatalf("delete if-empty with messages: %v, want 406", err)
	}
	sink := newSink()
	sess := open(t, n, sink)
	if err := sess.Consume(storage.ConsumerSpec{Queue: q, Tag: "c", Credit: 1}); err != nil {
		t.Fatal(err)
	}
	sink.take(t, 1)
	if _, err := n.DeleteQueue(ctx, q, true, false); code(err) != reply.PreconditionFailed {
		t.Fatalf("delete if-unused with a consumer: %v, want 406", err)
	}
	count, err := n.DeleteQueue(ctx, q, false, false)
	if err != nil || count != 1 {
		t.Fatalf("delete: %d, %v; want 1 ready message deleted", count, err)
	}
	select {
	case tag := <-sink.cancelled:
		if tag != "c" {
			t.Fatalf("cancelled %q, want c", tag)
		}
	case <-time.After(wait):
		t.Fatal("consumer not cancelled when its queue was deleted")
	}
}

func testPurge(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	publish(t, n, q, "1", "2", "3")
	count, err := n.PurgeQueue(context.Background(), q)
	if err != nil || count != 3 {
		t.Fatalf("purge: %d, %v; want 3", count, err)
	}
	if st := stats(t, n, q); st.Ready != 0 {
		t.Fatalf("after purge %+v", st)
	}
}

func testExclusiveConsumer(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	a, b := open(t, n, newSink()), open(t, n, newSink())
	if err := a.Consume(storage.ConsumerSpec{Queue: q, Tag: "a", Credit: 1, Exclusive: true}); err != nil {
		t.Fatal(err)
	}
	if err := b.Consume(storage.ConsumerSpec{Queue: q, Tag: "b", Credit: 1}); code(err) != reply.AccessRefused {
		t.Fatalf("second consumer next to an exclusive one: %v, want 403", err)
	}
}

// A 5 MiB message (above gRPC's default 4 MiB message cap) goes in and comes
// back intact.
func testLargeMessage(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	big := make([]byte, 5<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	publish(t, n, q, string(big))
	sess := open(t, n, newSink())
	d, _, ok, err := sess.Get(context.Background(), q, true)
	if err != nil || !ok || string(d.Msg.Body) != string(big) {
		t.Fatalf("get of a 5 MiB message: ok %v err %v, %d bytes back", ok, err, len(body(d)))
	}
}
