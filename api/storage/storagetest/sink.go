package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/storage"
)

// sink records what a node pushes to a session.
type sink struct {
	deliveries chan storage.Delivery
	cancelled  chan string
}

func newSink() *sink {
	return &sink{deliveries: make(chan storage.Delivery, 1024), cancelled: make(chan string, 16)}
}

func (s *sink) Deliver(batch []storage.Delivery) {
	for _, d := range batch {
		s.deliveries <- d.Clone()
	}
}

func (s *sink) Cancelled(tag string, _ error) { s.cancelled <- tag }

// take waits for n deliveries.
func (s *sink) take(t *testing.T, n int) []storage.Delivery {
	t.Helper()
	out := make([]storage.Delivery, 0, n)
	for len(out) < n {
		select {
		case d := <-s.deliveries:
			out = append(out, d)
		case <-time.After(wait):
			t.Fatalf("got %d of %d deliveries", len(out), n)
		}
	}
	return out
}

// none checks no delivery arrives for a while: credit must hold the node back.
func (s *sink) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-s.deliveries:
		t.Fatalf("delivery %q beyond the consumer's credit", d.Msg.Body)
	case <-time.After(200 * time.Millisecond):
	}
}

func open(t *testing.T, n storage.Node, s storage.Sink) storage.Session {
	t.Helper()
	sess, err := n.OpenSession(context.Background(), s)
	if err != nil {
		t.Fatalf("open session: %v", err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

func body(d storage.Delivery) string {
	if d.Msg == nil {
		return ""
	}
	return string(d.Msg.Body)
}

func bodies(ds []storage.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = body(d)
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
