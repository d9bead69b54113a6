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
