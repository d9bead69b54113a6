package node

import (
	"testing"
	"time"

	"github.com/warrenmq/warren/api/reply"
)

// A policy applied to a live durable queue: a length limit drops the
// oldest messages into the policy's dead-letter exchange at once, a TTL
// expires what is queued, and neither the declared spec the node lists
// nor a repeated create sees the change. A restart runs the queue as
// declared again, until its applier sets it anew.
func TestSetEffectiveLive(t *testing.T) {
	clock := newFakeClock()
	dl := newDLRecorder()
	opts := Options{Clock: clock, DeadLetterer: dl}
	n, fs := testNode(t, opts)
	declared := durable(1, "work")
	mustCreate(t, n, declared)
	publish(t, n, 1, true, seqBodies("m", 5)...)

	eff := declared
	eff.MaxLength = 2
	eff.HasDLX, eff.DeadLetterExchange = true, "policy-dlx"
	if err := n.SetEffective(bg, eff); err != nil {
		t.Fatal(err)
	}
	got := dl.wait(t, 3)
	if got[0].Exchange != "policy-dlx" || string(got[0].Msg.Body) != "m0" || string(got[2].Msg.Body) != "m2" {
		t.Fatalf("dead letters %+v", got)
	}
	if h := headersOf(t, got[0].Msg); h["x-first-death-reason"] != "maxlen" {
		t.Fatalf("headers %v", h)
	}
	if st, _ := n.Stats(bg, 1); st.Ready != 2 {
		t.Fatalf("ready %d under max-length 2", st.Ready)
	}

	eff.MessageTTL = 1000
	if err := n.SetEffective(bg, eff); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	syncShards(t, n)
	if got := dl.wait(t, 5); string(got[4].Msg.Body) != "m4" {
		t.Fatalf("dead letters after the TTL %+v", got)
	}
	if st, _ := n.Stats(bg, 1); st.Ready != 0 {
		t.Fatalf("ready %d after the TTL passed", st.Ready)
	}

	if specs := n.AppendQueueSpecs(nil); len(specs) != 1 || specs[0] != declared {
		t.Fatalf("listed %+v, want the declared spec", specs)
	}
	mustCreate(t, n, declared) // still the same queue: a no-op, not a 406

	publish(t, n, 1, true, seqBodies("r", 3)...)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	opts.FS = fs
	n2, _ := testNode(t, opts)
	publish(t, n2, 1, true, seqBodies("s", 3)...)
	if st, _ := n2.Stats(bg, 1); st.Ready != 5 {
		t.Fatalf("ready %d after a restart; the policy's limit is not the node's to keep", st.Ready)
	}
}

func TestSetEffectiveMissingQueue(t *testing.T) {
	n, _ := testNode(t, Options{})
	if err := n.SetEffective(bg, spec(7, "gone")); !isCode(err, reply.NotFound) {
		t.Fatalf("SetEffective on a missing queue: %v, want 404", err)
	}
	if specs := n.AppendQueueSpecs(nil); len(specs) != 0 {
		t.Fatalf("listed %+v", specs)
	}
}
