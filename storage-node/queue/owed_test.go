package queue

import (
	"fmt"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// TestHeldDropsBounded: behind an owed drop, at most maxHeldDrops drops
// wait with their messages in memory; later ones are carried out at once,
// and Resume still drops what a run that never waited drops.
func TestHeldDropsBounded(t *testing.T) {
	store := newMemStore()
	rec := &recorder{store: store, quiet: true}
	spec := storage.QueueSpec{ID: 1, VHost: "/", Name: "q", MessageTTL: -1, Expires: -1,
		MaxLength: 1, MaxLengthBytes: -1, MaxPriority: 2, HasDLX: true}
	q := New(spec, Config{CacheBytes: 1, MinCacheBytes: 1, LoadCount: 1}, store, nil, 0)
	appendPrio := func(i int, prio uint8) {
		q.Append(0, &storage.Message{Body: []byte(fmt.Sprint(i)), Priority: prio, TTL: -1}, rec)
	}
	appendPrio(0, 2)
	store.notReady[2] = true
	const extra = 10
	for i := range maxHeldDrops + extra {
		appendPrio(i+1, 0) // the first owes lane 2's head, the others drop lane 0's
	}
	if len(q.drops) != maxHeldDrops || len(rec.delivers) != extra {
		t.Fatalf("%d drops wait, %d dead letters out; want %d and %d", len(q.drops), len(rec.delivers), maxHeldDrops, extra)
	}
	if msg := checkInvariants(q); msg != "" {
		t.Fatal(msg)
	}
	delete(store.notReady, 2)
	q.Resume(0, rec, nil)
	if len(q.drops) != 0 || len(rec.delivers) != maxHeldDrops+extra || q.Stats().Ready != 1 {
		t.Fatalf("after Resume: %d drops wait, %d dead letters, %d ready", len(q.drops), len(rec.delivers), q.Stats().Ready)
	}
	if want := "deadletter 1 maxlen 0"; rec.delivers[extra] != want {
		t.Fatalf("first dead letter at Resume is %q, want %q", rec.delivers[extra], want)
	}
	if msg := checkInvariants(q); msg != "" {
		t.Fatal(msg)
	}
}

// TestOwedRunAfterRestart: a queue recovered far over a lower limit owes
// its cold heads in one run (one entry, not one per message), and Resume
// drops them oldest first.
func TestOwedRunAfterRestart(t *testing.T) {
	store := newMemStore()
	rec := &recorder{store: store, quiet: true}
	spec := storage.QueueSpec{ID: 1, VHost: "/", Name: "q", Durable: true, MessageTTL: -1, Expires: -1,
		MaxLength: -1, MaxLengthBytes: -1, HasDLX: true}
	cfg := Config{CacheBytes: 1, MinCacheBytes: 1, LoadCount: 1}
	q := New(spec, cfg, store, nil, 0)
	for i := range 100 {
		q.Append(0, &storage.Message{Body: []byte(fmt.Sprint(i)), Persistent: true, TTL: -1}, rec)
	}
	q.Flush(rec)
	spec.MaxLength = 5
	q = Recover(spec, *rec.meta, cfg, store, nil, 0)
	store.notReady[0] = true
	q.Append(0, &storage.Message{Body: []byte("new"), Persistent: true, TTL: -1}, rec)
	if len(q.drops) != 1 || q.drops[0].n != 96 || q.Stats().Ready != 5 {
		t.Fatalf("drops %+v wait, %d ready; want one run of 96, 5 ready", q.drops, q.Stats().Ready)
	}
	delete(store.notReady, 0)
	q.Resume(0, rec, nil)
	if len(rec.delivers) != 96 || rec.delivers[0] != "deadletter 1 maxlen 0" || rec.delivers[95] != "deadletter 96 maxlen 95" {
		t.Fatalf("dead letters: %d, first %q, last %q", len(rec.delivers), rec.delivers[0], rec.delivers[len(rec.delivers)-1])
	}
	if msg := checkInvariants(q); msg != "" {
		t.Fatal(msg)
	}
}
