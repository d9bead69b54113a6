package storagetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// testStartAppendKeepsOrder starts many batches before waiting for any and
// checks that the queue holds them in the order started, each message once.
func testStartAppendKeepsOrder(t *testing.T, n storage.Node) {
	const batches, perBatch = 40, 25
	q := newQueue(t, n)
	waits := make([]func() ([]storage.Outcome, error), batches)
	for b := range waits {
		batch := make([]storage.Publish, perBatch)
		for i := range batch {
			body := fmt.Sprintf("%d", b*perBatch+i)
			batch[i] = storage.Publish{Queues: []storage.QueueID{q}, Msg: &storage.Message{Body: []byte(body), TTL: -1}}
		}
		waits[b] = n.StartAppend(context.Background(), batch)
	}
	for b, wait := range waits {
		outcomes, err := wait()
		if err != nil || len(outcomes) != perBatch {
			t.Fatalf("batch %d: %d outcomes, err %v", b, len(outcomes), err)
		}
	}
	sess := open(t, n, newSink())
	for want := 0; want < batches*perBatch; want++ {
		d, _, ok, err := sess.Get(context.Background(), q, true)
		if err != nil || !ok {
			t.Fatalf("get %d: ok %v err %v", want, ok, err)
		}
		if got := body(d); got != fmt.Sprint(want) {
			t.Fatalf("message %d is %q: batches applied out of order", want, got)
		}
	}
	if st := stats(t, n, q); st.Ready != 0 {
		t.Fatalf("%d messages left after reading every one", st.Ready)
	}
}

// testBarrierOrdersSettles: a settlement followed by Barrier is seen by a
// Stats call made afterwards, though settling itself is one-way.
func testBarrierOrdersSettles(t *testing.T, n storage.Node) {
	q := newQueue(t, n)
	publish(t, n, q, "a", "b", "c")
	sess := open(t, n, newSink())
	for range 3 {
		d, _, ok, err := sess.Get(context.Background(), q, false)
		if err != nil || !ok {
			t.Fatalf("get: ok %v err %v", ok, err)
		}
		if err := sess.Settle([]storage.Settle{{Queue: q, ID: d.ID, Kind: storage.Ack}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := sess.Barrier(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := stats(t, n, q); st.Unacked != 0 {
			t.Fatalf("an ack before Barrier not seen by Stats after it: %+v", st)
		}
	}
}
