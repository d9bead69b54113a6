package connquota

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/internal/jstest"
)

func openKV(t *testing.T) jetstream.KeyValue {
	t.Helper()
	kv, err := OpenBucket(context.Background(), jstest.JetStream(t))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func record(t *testing.T, kv jetstream.KeyValue, inst string) Counts {
	t.Helper()
	c, _, err := read(context.Background(), kv, inst)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func expectRecord(t *testing.T, kv jetstream.KeyValue, inst string, want Counts) {
	t.Helper()
	if got := record(t, kv, inst); !maps.Equal(got, want) {
		t.Fatalf("record of %s is %v, want %v", inst, got, want)
	}
}

func admit(t *testing.T, c *Counter, inst string, max uint32) bool {
	t.Helper()
	ok, err := c.Admit(context.Background(), inst, max)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func leave(t *testing.T, c *Counter, inst string) {
	t.Helper()
	if err := c.Leave(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
}

// The quota holds for the sum over gateways, not for each.
func TestAdmitCountsEveryGateway(t *testing.T) {
	kv := openKV(t)
	a, b := NewCounter(kv, "gw-a"), NewCounter(kv, "gw-b")
	steps := []struct {
		c    *Counter
		inst string
		want bool
	}{
		{a, "acme", true}, {a, "acme", true}, {b, "acme", true},
		{b, "acme", false}, {a, "acme", false},
		{b, "other", true}, // another instance has its own count
	}
	for i, s := range steps {
		if got := admit(t, s.c, s.inst, 3); got != s.want {
			t.Fatalf("step %d: admitted %v, want %v", i+1, got, s.want)
		}
	}
	expectRecord(t, kv, "acme", Counts{"gw-a": 2, "gw-b": 1})
	leave(t, a, "acme")
	if !admit(t, b, "acme", 3) {
		t.Fatal("a connection closed on one gateway still counts on the other")
	}
	expectRecord(t, kv, "acme", Counts{"gw-a": 1, "gw-b": 2})
	if !admit(t, a, "acme", 0) {
		t.Fatal("0 must mean no limit")
	}
}

// Gateways admitting at the same moment never pass the quota together:
// the compare-and-set makes the last place go to one of them.
func TestConcurrentAdmitsStayWithinTheQuota(t *testing.T) {
	kv := openKV(t)
	const max, gateways, each = 7, 4, 6
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for g := range gateways {
		c := NewCounter(kv, string(rune('a'+g)))
		for range each {
			wg.Go(func() {
				ok, err := c.Admit(context.Background(), "acme", max)
				if err != nil {
					t.Error(err)
				}
				if ok {
					admitted.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if n := admitted.Load(); n != max {
		t.Fatalf("%d connections admitted, want the quota %d", n, max)
	}
	if n := record(t, kv, "acme").Total(); n != max {
		t.Fatalf("record counts %d connections, want %d", n, max)
	}
}

// The last connection's leave removes the record, and a new one starts it
// again over the deletion.
func TestLastLeaveRemovesTheRecord(t *testing.T) {
	kv := openKV(t)
	a := NewCounter(kv, "gw-a")
	admit(t, a, "acme", 1)
	leave(t, a, "acme")
	if _, err := kv.Get(context.Background(), "acme"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("record after the last leave: %v", err)
	}
	if !admit(t, a, "acme", 1) {
		t.Fatal("refused after every connection left")
	}
	expectRecord(t, kv, "acme", Counts{"gw-a": 1})
}

// A dead gateway's connections stop counting once the control plane drops
// its entries.
func TestDropGatewaysFreesTheirPlaces(t *testing.T) {
	kv := openKV(t)
	a, dead := NewCounter(kv, "gw-a"), NewCounter(kv, "gw-dead")
	admit(t, a, "acme", 2)
	admit(t, dead, "acme", 2)
	admit(t, dead, "solo", 2)
	if admit(t, a, "acme", 2) {
		t.Fatal("admitted past the quota")
	}
	n, err := DropGateways(context.Background(), kv, func(gw string) bool { return gw == "gw-a" })
	if err != nil || n != 2 {
		t.Fatalf("dropped %d entries (%v), want 2", n, err)
	}
	expectRecord(t, kv, "acme", Counts{"gw-a": 1})
	expectRecord(t, kv, "solo", Counts{})
	if !admit(t, a, "acme", 2) {
		t.Fatal("the dead gateway's connection still counts")
	}
}

// A live gateway whose entry was removed (taken for dead while it could
// not heartbeat) writes it back at its next sync.
func TestSyncRestoresTheEntry(t *testing.T) {
	kv := openKV(t)
	a := NewCounter(kv, "gw-a")
	admit(t, a, "acme", 0)
	admit(t, a, "acme", 0)
	if _, err := DropGateways(context.Background(), kv, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	expectRecord(t, kv, "acme", Counts{})
	if err := a.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectRecord(t, kv, "acme", Counts{"gw-a": 2})
}

// A connection admitted while the record cannot be written counts on the
// gateway and reaches the record at the next sync.
func TestAdmitWithoutNATSCountsLocally(t *testing.T) {
	kv := openKV(t)
	a := NewCounter(kv, "gw-a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ok, err := a.Admit(ctx, "acme", 5)
	if !ok || err == nil {
		t.Fatalf("Admit with NATS unreachable: %v, %v; want admitted with an error", ok, err)
	}
	expectRecord(t, kv, "acme", Counts{})
	if err := a.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectRecord(t, kv, "acme", Counts{"gw-a": 1})
}

// Follow hears how many gateways serve an instance from the records a
// gateway reads: its own writes and its syncs.
func TestFollowCountsServingGateways(t *testing.T) {
	kv := openKV(t)
	a, b := NewCounter(kv, "gw-a"), NewCounter(kv, "gw-b")
	var heard []int
	a.Follow(func(inst string, n int) {
		if inst == "acme" {
			heard = append(heard, n)
		}
	})
	admit(t, a, "acme", 0)
	admit(t, b, "acme", 0)
	admit(t, b, "acme", 0)
	sync := func() {
		if err := a.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sync()
	leave(t, b, "acme")
	sync()
	leave(t, b, "acme")
	sync()
	if want := []int{1, 2, 1}; !slices.Equal(heard, want) {
		t.Fatalf("heard %v gateways, want %v", heard, want)
	}
}
