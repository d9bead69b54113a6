package conn

import "testing"

func newTestChannel(prefetch, global uint32) *channel {
	ch := newChannel(&Conn{cfg: &Config{NoAckWindow: 100}}, 1)
	ch.prefetch, ch.globalPrefetch = prefetch, global
	return ch
}

func addConsumer(ch *channel, tag string) (*consumer, uint32, bool) {
	cons := &consumer{tag: tag}
	ch.consumers[tag] = cons
	credit, unlimited := ch.openingCreditLocked(cons)
	return cons, credit, unlimited
}

func total(g grants) uint32 {
	var n uint32
	for _, v := range g {
		n += v
	}
	return n
}

func TestPerConsumerPrefetchCredit(t *testing.T) {
	ch := newTestChannel(2, 0)
	a, credit, unlimited := addConsumer(ch, "a")
	if credit != 2 || unlimited {
		t.Fatalf("opening credit %d unlimited=%v, want 2 limited", credit, unlimited)
	}
	ch.deliveredLocked(a, 2)
	g := ch.settledLocked(map[*consumer]uint32{a: 1})
	if g[a] != 1 || a.cs.held != 1 {
		t.Fatalf("after one ack: grant %d held %d", g[a], a.cs.held)
	}
}

func TestNoPrefetchIsUnlimited(t *testing.T) {
	ch := newTestChannel(0, 0)
	a, credit, unlimited := addConsumer(ch, "a")
	if credit != 0 || !unlimited {
		t.Fatalf("got credit %d unlimited=%v", credit, unlimited)
	}
	ch.deliveredLocked(a, 5)
	if g := ch.settledLocked(map[*consumer]uint32{a: 5}); total(g) != 0 {
		t.Fatalf("unlimited consumer granted %v", g)
	}
}

// The global budget is shared: never more than the global prefetch in flight
// across consumers, and each consumer stays within its own prefetch.
func TestGlobalPrefetchBudget(t *testing.T) {
	ch := newTestChannel(2, 3)
	a, ca, _ := addConsumer(ch, "a")
	b, cb, _ := addConsumer(ch, "b")
	if ca != 0 || cb != 0 {
		t.Fatalf("pooled consumers must open with no credit, got %d %d", ca, cb)
	}
	g := ch.rebalanceLocked()
	if total(g) != 3 || g[a] > 2 || g[b] > 2 {
		t.Fatalf("initial grants %v, want 3 in all, at most 2 each", map[string]uint32{"a": g[a], "b": g[b]})
	}
	ch.deliveredLocked(a, g[a])
	ch.deliveredLocked(b, g[b])
	if more := ch.rebalanceLocked(); total(more) != 0 {
		t.Fatalf("budget exhausted but granted %d", total(more))
	}
	g = ch.settledLocked(map[*consumer]uint32{a: 1})
	if total(g) != 1 {
		t.Fatalf("one ack frees one credit, granted %d", total(g))
	}
	ch.mu.Lock()
	ch.removeConsumerLocked(b)
	ch.mu.Unlock()
	if ch.mu.unacked != 2 {
		t.Fatalf("removing a consumer must keep its unacked counted, unacked=%d", ch.mu.unacked)
	}
}

// A basic.qos global=false after a global one lifts the shared limit: a
// consumer with no prefetch of its own must not be left without credit.
func TestLiftingGlobalPrefetchFreesConsumers(t *testing.T) {
	ch := newTestChannel(0, 1)
	a, _, _ := addConsumer(ch, "a")
	b, _, _ := addConsumer(ch, "b")
	first := ch.rebalanceLocked()
	if total(first) != 1 {
		t.Fatalf("global 1 handed out %d credits", total(first))
	}
	starved := a
	if first[a] == 1 {
		starved = b
	}
	g := ch.liftGlobalLocked()
	if g[starved] == 0 || !starved.cs.unlimited {
		t.Fatalf("consumer without credit got %d after the limit was lifted", g[starved])
	}
}
