package conn

import (
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
