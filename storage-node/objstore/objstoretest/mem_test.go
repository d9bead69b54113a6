package objstoretest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/warrenmq/warren/storage-node/objstore"
)

func TestMemContract(t *testing.T) {
	Run(t, func(t *testing.T) objstore.Store { return NewMem() })
}

var errOutage = errors.New("503 slow down")

// TestMemFailNext checks that a fault fails exactly the next n calls of its
// op, without acting, and leaves the other ops alone.
func TestMemFailNext(t *testing.T) {
	m := NewMem()
	m.FailNext(OpPut, 2, errOutage)
	for i := range 2 {
		if err := m.Put(ctx, "a", []byte("x")); !errors.Is(err, errOutage) {
			t.Fatalf("Put %d err = %v, want the injected fault", i, err)
		}
	}
	if keys := m.Keys(); len(keys) != 0 {
		t.Fatalf("failed Puts stored %q", keys)
	}
	mustPut(t, m, "a", []byte("x"))
	m.FailNext(OpGetRange, 1, nil)
	if _, err := m.Stat(ctx, "a"); err != nil {
		t.Fatalf("Stat failed with a GetRange fault: %v", err)
	}
	if _, err := m.GetRange(ctx, "a", 0, -1); !errors.Is(err, ErrInjected) {
		t.Fatalf("GetRange err = %v, want ErrInjected", err)
	}
	if got := mustGet(t, m, "a", 0, -1); string(got) != "x" {
		t.Fatalf("GetRange after the fault = %q", got)
	}
	if m.Calls(OpPut) != 3 || m.Calls(OpGetRange) != 2 || m.Calls(OpStat) != 1 {
		t.Fatalf("calls put %d get %d stat %d, want 3 2 1", m.Calls(OpPut), m.Calls(OpGetRange), m.Calls(OpStat))
	}
}

// TestMemOutage checks that n < 0 fails every call until cleared.
func TestMemOutage(t *testing.T) {
	m := NewMem()
	m.FailNext(OpList, -1, errOutage)
	for range 5 {
		if _, err := m.List(ctx, ""); !errors.Is(err, errOutage) {
			t.Fatalf("List during the outage err = %v", err)
		}
	}
	m.FailNext(OpList, 0, nil)
	if _, err := m.List(ctx, ""); err != nil {
		t.Fatalf("List after the outage: %v", err)
	}
}

// TestMemFailNextAfter checks a lost reply: the store acts, the caller
// sees an error.
func TestMemFailNextAfter(t *testing.T) {
	m := NewMem()
	m.FailNextAfter(OpPut, 1, errOutage)
	if err := m.Put(ctx, "a", []byte("x")); !errors.Is(err, errOutage) {
		t.Fatalf("Put err = %v, want the injected fault", err)
	}
	if keys := m.Keys(); !slices.Equal(keys, []string{"a"}) {
		t.Fatalf("a Put whose reply was lost stored %q, want a", keys)
	}
	m.FailNextAfter(OpDelete, 1, errOutage)
	if err := m.Delete(ctx, "a"); !errors.Is(err, errOutage) {
		t.Fatalf("Delete err = %v", err)
	}
	if keys := m.Keys(); len(keys) != 0 {
		t.Fatalf("a Delete whose reply was lost left %q", keys)
	}
	mustPut(t, m, "b", []byte("y"))
	m.FailNextAfter(OpGetRange, 1, errOutage)
	if b, err := m.GetRange(ctx, "b", 0, -1); !errors.Is(err, errOutage) || b != nil {
		t.Fatalf("GetRange = %q, %v; want no bytes and the fault", b, err)
	}
}

func waitBlocked(t *testing.T, m *Mem, op Op, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.Blocked(op) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s calls blocked, want %d", m.Blocked(op), op, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMemPause checks that a paused op waits without acting until Resume,
// that other ops go on meanwhile, and that a waiting call honours its
// context.
func TestMemPause(t *testing.T) {
	m := NewMem()
	m.Pause(OpPut)
	m.Pause(OpPut) // pausing twice is one pause
	done := make(chan error, 2)
	for _, k := range []string{"a", "b"} {
		go func() { done <- m.Put(ctx, k, []byte(k)) }()
	}
	waitBlocked(t, m, OpPut, 2)
	if keys := m.Keys(); len(keys) != 0 {
		t.Fatalf("paused Puts stored %q", keys)
	}
	if _, err := m.List(ctx, ""); err != nil {
		t.Fatalf("List during a Put pause: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- m.Put(cctx, "c", []byte("c")) }()
	waitBlocked(t, m, OpPut, 3)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiting Put err = %v, want context.Canceled", err)
	}
	m.Resume(OpPut)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("released Put: %v", err)
		}
	}
	if keys := m.Keys(); !slices.Equal(keys, []string{"a", "b"}) {
		t.Fatalf("after Resume the store holds %q, want a b", keys)
	}
	mustPut(t, m, "d", nil) // no longer paused
	m.Resume(OpPut)         // resuming an op that is not paused does nothing
}

// TestMemPauseThenFault checks the order a call takes: a fault set while a
// call waits applies to it once released, which lets a test hold a Put
// and then decide how it ends.
func TestMemPauseThenFault(t *testing.T) {
	m := NewMem()
	m.Pause(OpPut)
	done := make(chan error, 1)
	go func() { done <- m.Put(ctx, "a", []byte("a")) }()
	waitBlocked(t, m, OpPut, 1)
	m.FailNext(OpPut, 1, errOutage)
	m.Resume(OpPut)
	if err := <-done; !errors.Is(err, errOutage) {
		t.Fatalf("released Put err = %v, want the fault set while it waited", err)
	}
	if keys := m.Keys(); len(keys) != 0 {
		t.Fatalf("store holds %q", keys)
	}
}

// TestMemCopies checks that neither Put's body nor a read aliases the
// stored object.
func TestMemCopies(t *testing.T) {
	m := NewMem()
	body := []byte("abc")
	mustPut(t, m, "a", body)
	body[0] = 'X'
	got := mustGet(t, m, "a", 0, -1)
	got[1] = 'Y'
	if again := mustGet(t, m, "a", 0, -1); string(again) != "abc" {
		t.Fatalf("object = %q, want abc", again)
	}
}
