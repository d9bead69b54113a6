package registry

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/internal/jstest"
)

func startKV(t *testing.T) jetstream.KeyValue {
	t.Helper()
	js := jstest.JetStream(t)
	kv, err := OpenBucket(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func names(es []Entry) map[string]string {
	out := map[string]string{}
	for _, e := range es {
		out[e.Name] = e.Addr
	}
	return out
}

func TestRegisterListDeregister(t *testing.T) {
	kv := startKV(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if es, err := List(ctx, kv, StorageNode); err != nil || len(es) != 0 {
		t.Fatalf("empty registry: %v, %v", es, err)
	}
	for _, n := range []string{"n1", "10.0.0.5:7001"} {
		if err := Register(ctx, kv, Entry{Kind: StorageNode, Name: n, Addr: n + ":7000"}, time.Second, slog.Default()); err != nil {
			t.Fatal(err)
		}
	}
	if err := Register(ctx, kv, Entry{Kind: Gateway, Name: "g1"}, time.Second, slog.Default()); err != nil {
		t.Fatal(err)
	}
	es, err := List(ctx, kv, StorageNode)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(es); len(got) != 2 || got["n1"] != "n1:7000" || got["10.0.0.5:7001"] != "10.0.0.5:7001:7000" {
		t.Fatalf("storage nodes %v", got)
	}
	if err := Deregister(ctx, kv, StorageNode, "n1"); err != nil {
		t.Fatal(err)
	}
	es, _ = List(ctx, kv, StorageNode)
	if got := names(es); len(got) != 1 || got["10.0.0.5:7001"] == "" {
		t.Fatalf("after deregister %v", got)
	}
}

// A service that stops heartbeating (SIGKILLed) drops out once its TTL passes.
func TestStoppedHeartbeatMeansDown(t *testing.T) {
	kv := startKV(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := Register(ctx, kv, Entry{Kind: StorageNode, Name: "n1", Addr: "a"}, 100*time.Millisecond, slog.Default()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(350 * time.Millisecond) // heartbeats keep it alive past its first TTL
	if es, _ := List(context.Background(), kv, StorageNode); len(es) != 1 {
		t.Fatalf("heartbeating node listed %d times, want 1", len(es))
	}
	cancel() // heartbeats stop, as if the process died
	deadline := time.Now().Add(5 * time.Second)
	for {
		es, err := List(context.Background(), kv, StorageNode)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("node without heartbeats still listed as alive")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEntryAlive(t *testing.T) {
	now := time.Now()
	e := Entry{Heartbeat: now.Add(-2 * time.Second), TTL: 3 * time.Second}
	if !e.Alive(now) {
		t.Fatal("entry within its TTL counted as down")
	}
	if e.Alive(now.Add(2 * time.Second)) {
		t.Fatal("entry past its TTL counted as alive")
	}
}

// A storage node's heartbeat carries its current byte count.
func TestHeartbeatRefreshesBytes(t *testing.T) {
	kv := startKV(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held atomic.Uint64
	held.Store(100)
	update := func(e *Entry) { e.Bytes = held.Load() }
	if err := RegisterWith(ctx, kv, Entry{Kind: StorageNode, Name: "n1", Addr: "a"}, 50*time.Millisecond, update, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if es, err := List(ctx, kv, StorageNode); err != nil || len(es) != 1 || es[0].Bytes != 100 {
		t.Fatalf("first entry %+v (%v), want 100 bytes", es, err)
	}
	held.Store(5000)
	deadline := time.Now().Add(5 * time.Second)
	for {
		es, err := List(ctx, kv, StorageNode)
		if err == nil && len(es) == 1 && es[0].Bytes == 5000 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry %+v (%v) never reported 5000 bytes", es, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLookup(t *testing.T) {
	kv := startKV(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, ok, err := Lookup(ctx, kv, Gateway, "g1"); ok || err != nil {
		t.Fatalf("unregistered gateway found: %v, %v", ok, err)
	}
	if err := Register(ctx, kv, Entry{Kind: Gateway, Name: "g1", Addr: "a:1"}, time.Second, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if e, ok, err := Lookup(ctx, kv, Gateway, "g1"); !ok || err != nil || e.Addr != "a:1" {
		t.Fatalf("registered gateway: %+v, %v, %v", e, ok, err)
	}
	if _, ok, _ := Lookup(ctx, kv, StorageNode, "g1"); ok {
		t.Fatal("found under another kind")
	}
}
