package conn

import (
	"context"
	"testing"
	"time"
)

func TestTenantsAdmitUpToTheQuota(t *testing.T) {
	ts := newTenants()
	for i := range 2 {
		if !ts.admit("acme", 2) {
			t.Fatalf("connection %d refused under the quota", i+1)
		}
	}
	if ts.admit("acme", 2) {
		t.Fatal("a third connection admitted with max_connections 2")
	}
	if !ts.admit("other", 2) {
		t.Fatal("one instance's connections counted against another")
	}
	ts.leave("acme")
	if !ts.admit("acme", 2) {
		t.Fatal("a closed connection still counts")
	}
	if !ts.admit("open", 0) {
		t.Fatal("0 must mean no limit")
	}
}

// The bucket lets a second's worth through at once, then spaces messages
// at the rate: the debt is the wait.
func TestRateBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newRateBucket(10, t0)
	for i := range 10 {
		if d := b.reserve(t0); d != 0 {
			t.Fatalf("message %d of the burst waits %v", i+1, d)
		}
	}
	if d := b.reserve(t0); d != 100*time.Millisecond {
		t.Fatalf("11th message waits %v, want 100ms", d)
	}
	if d := b.reserve(t0); d != 200*time.Millisecond {
		t.Fatalf("12th message waits %v, want 200ms", d)
	}
	if d := b.reserve(t0.Add(time.Second)); d != 0 {
		t.Fatalf("after the debt is paid, a message waits %v", d)
	}
	if d := b.reserve(t0.Add(time.Second - time.Millisecond)); d < 0 {
		t.Fatalf("a reader with an older clock got %v", d)
	}
}

func TestBucketFollowsTheQuota(t *testing.T) {
	ts := newTenants()
	if ts.bucket("acme", 0) != nil {
		t.Fatal("a bucket without a rate quota")
	}
	b := ts.bucket("acme", 5)
	if ts.bucket("acme", 50) != b || b.rate != 50 {
		t.Fatal("the instance's connections do not share one retuned bucket")
	}
}

// With several gateways serving an instance, each paces its publishers at
// its share of the quota, retuned as gateways come and go.
func TestBucketTakesThisGatewaysShare(t *testing.T) {
	ts := newTenants()
	ts.setGateways("acme", 4) // heard before the first connection.open
	b := ts.bucket("acme", 100)
	if b.rate != 25 || b.tokens != 25 {
		t.Fatalf("rate %v with %v tokens, want a quarter of 100 each", b.rate, b.tokens)
	}
	ts.setGateways("acme", 2)
	if b.rate != 50 {
		t.Fatalf("rate %v after a gateway left, want 50", b.rate)
	}
	ts.setGateways("other", 5)
	ts.setGateways("acme", 0) // the record is gone: this gateway alone
	if b.rate != 100 {
		t.Fatalf("rate %v serving alone, want the whole quota", b.rate)
	}
}

// seatsStub answers Admit from a fixed count of the cluster's connections.
type seatsStub struct {
	total int
	err   error
}

func (s *seatsStub) Admit(_ context.Context, _ string, max uint32) (bool, error) {
	if s.err != nil {
		return true, s.err
	}
	if max > 0 && s.total >= int(max) {
		return false, nil
	}
	s.total++
	return true, nil
}

func (s *seatsStub) Leave(context.Context, string) error { s.total--; return nil }
func (s *seatsStub) Follow(func(string, int))            {}

// With Seats the cluster's count decides, not this gateway's.
func TestAdmitAsksSeats(t *testing.T) {
	seats := &seatsStub{total: 3} // connections on other gateways
	cfg := Prepare(Config{Seats: seats})
	if cfg.admitConn("acme", 3) {
		t.Fatal("admitted past the cluster's quota with no connection on this gateway")
	}
	if !cfg.admitConn("acme", 4) {
		t.Fatal("refused under the cluster's quota")
	}
	cfg.leaveConn("acme")
	if seats.total != 3 {
		t.Fatalf("cluster count %d after open and close, want 3", seats.total)
	}
	seats.err = context.DeadlineExceeded
	if !cfg.admitConn("acme", 1) {
		t.Fatal("with the cluster count out of reach, the gateway's decision must stand")
	}
}
