package policies

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
)

// fakeNode records what the applier sets; mu guards it (Run calls it
// from its goroutine).
type fakeNode struct {
	mu       sync.Mutex
	declared []storage.QueueSpec
	gen      uint64
	listed   int // AppendQueueSpecs calls
	calls    []string
}

func (n *fakeNode) QueuesGeneration() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gen
}

func (n *fakeNode) AppendQueueSpecs(dst []storage.QueueSpec) []storage.QueueSpec {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.listed++
	return append(dst, n.declared...)
}

func (n *fakeNode) add(s storage.QueueSpec) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.declared = append(n.declared, s)
	n.gen++
}

// removeAll deletes every queue from the node.
func (n *fakeNode) removeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.declared = nil
	n.gen++
}

func (n *fakeNode) SetEffective(_ context.Context, s storage.QueueSpec) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.ContainsFunc(n.declared, func(d storage.QueueSpec) bool { return d.ID == s.ID }) {
		return reply.Errorf(reply.NotFound, "no queue")
	}
	n.calls = append(n.calls, fmt.Sprintf("%s ttl=%d max-len=%d dlx=%v:%s", s.Name, s.MessageTTL, s.MaxLength,
		s.HasDLX, s.DeadLetterExchange))
	return nil
}

// took returns and forgets the calls made since the last took.
func (n *fakeNode) took() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := strings.Join(n.calls, "; ")
	n.calls = nil
	return s
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	kv     jetstream.KeyValue
	mirror *topokv.Mirror
	node   *fakeNode
	a      *Applier
}

func newFixture(t *testing.T) *fixture {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	_, js := natstest.JetStream(t)
	kv, m := natstest.Topology(ctx, t, js)
	f := &fixture{t: t, ctx: ctx, kv: kv, mirror: m, node: &fakeNode{}}
	f.a = New(m, f.node, slog.Default())
	return f
}

// queue makes a queue of instance "acme" as the control plane does: with
// onNode on the node first, then its record in the mirror.
func (f *fixture) queue(id storage.QueueID, name string, args amqp.Table, onNode bool) {
	f.t.Helper()
	q := topology.Queue{VHost: "/", Name: name, ID: id, Durable: true, Args: args, Node: "n1"}
	spec, err := q.QueueSpec()
	if err != nil {
		f.t.Fatal(err)
	}
	if onNode {
		f.node.add(spec)
	}
	val, err := topokv.EncodeQueue(q)
	if err != nil {
		f.t.Fatal(err)
	}
	f.put(topokv.QueueKey("acme", "/", name), val)
}

func (f *fixture) policy(name, pattern string, def map[string]any) {
	f.t.Helper()
	val, err := topokv.EncodePolicy(topology.Policy{Pattern: pattern, ApplyTo: topology.ApplyToQueues, Definition: def})
	if err != nil {
		f.t.Fatal(err)
	}
	f.put(topokv.PolicyKey("acme", "/", name), val)
}

func (f *fixture) put(key string, val []byte) {
	f.t.Helper()
	rev, err := f.kv.Put(f.ctx, key, val)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.mirror.WaitFor(f.ctx, rev); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) deletePolicy(name string) {
	f.t.Helper()
	if err := f.kv.Delete(f.ctx, topokv.PolicyKey("acme", "/", name)); err != nil {
		f.t.Fatal(err)
	}
	rev, err := topokv.LastRevision(f.ctx, f.kv)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.mirror.WaitFor(f.ctx, rev); err != nil {
		f.t.Fatal(err)
	}
}

// pass runs one pass and checks the calls it made.
func (f *fixture) pass(what, want string) {
	f.t.Helper()
	f.a.Pass(f.ctx)
	if got := f.node.took(); got != want {
		f.t.Errorf("%s: SetEffective calls\n got: %q\nwant: %q", what, got, want)
	}
}

func TestApplierFollowsPolicies(t *testing.T) {
	f := newFixture(t)
	f.queue(1, "orders", nil, true)
	f.queue(2, "capped", amqp.Table{"x-max-length": int32(1)}, true)
	f.queue(3, "elsewhere", nil, false) // another node's
	f.pass("no policy", "")

	f.policy("cap", "^(orders|capped|elsewhere|late)$", map[string]any{"max-length": 5.0, "dead-letter-exchange": "dlx"})
	f.pass("policy created", "orders ttl=-1 max-len=5 dlx=true:dlx; capped ttl=-1 max-len=1 dlx=true:dlx")
	f.pass("nothing changed", "")

	f.policy("cap", "^(orders|capped|late)$", map[string]any{"message-ttl": 100.0})
	f.pass("policy changed", "orders ttl=100 max-len=-1 dlx=false:; capped ttl=100 max-len=1 dlx=false:")

	late := storage.QueueSpec{ID: 4, VHost: "/", Name: "late", MessageTTL: -1, Expires: -1, MaxLength: -1, MaxLengthBytes: -1}
	f.node.add(late) // on the node; its record is not in the mirror yet
	f.pass("queue not mirrored yet", "")
	f.queue(4, "late", nil, false)
	f.pass("queue record arrived", "late ttl=100 max-len=-1 dlx=false:")

	f.deletePolicy("cap")
	f.pass("policy deleted", "orders ttl=-1 max-len=-1 dlx=false:; capped ttl=-1 max-len=1 dlx=false:; late ttl=-1 max-len=-1 dlx=false:")
}

// A restarted node runs its queues as declared: the first pass sets every
// queue a policy applies to, and no other.
func TestApplierFirstPass(t *testing.T) {
	f := newFixture(t)
	f.policy("ttl", "^a", map[string]any{"message-ttl": 10.0})
	f.queue(1, "a1", nil, true)
	f.queue(2, "b1", nil, true)
	f.queue(3, "a2", amqp.Table{"x-message-ttl": int32(5)}, true) // the argument is lower: as declared
	f.pass("first pass", "a1 ttl=10 max-len=-1 dlx=false:")
}

// A pass when neither the policies nor the node's queues changed (the
// mirror moved for another node's queue) does not list the node's queues
// again; but a queue whose record the mirror did not hold yet is looked
// at again once it does.
func TestApplierSkipsPassesWithNothingNew(t *testing.T) {
	f := newFixture(t)
	f.policy("ttl", "^a", map[string]any{"message-ttl": 10.0})
	f.queue(1, "a1", nil, true)
	f.pass("first pass", "a1 ttl=10 max-len=-1 dlx=false:")
	listed := f.node.listed
	f.queue(2, "a-elsewhere", nil, false)
	f.pass("another node's queue", "")
	if f.node.listed != listed {
		t.Errorf("a pass with nothing new listed the node's queues")
	}
	early, err := topology.Queue{VHost: "/", Name: "a2", ID: 3, Durable: true}.QueueSpec()
	if err != nil {
		t.Fatal(err)
	}
	f.node.add(early) // the control plane creates the storage before the record
	f.pass("record not there yet", "")
	f.queue(3, "a2", nil, false)
	f.pass("record arrived", "a2 ttl=10 max-len=-1 dlx=false:")
}

// A queue deleted from the node is forgotten, so the applier's state
// does not grow with the queues a node ever had.
func TestApplierForgetsDeletedQueues(t *testing.T) {
	f := newFixture(t)
	f.queue(1, "q", nil, true)
	f.pass("no policy", "")
	f.node.removeAll()
	f.pass("queue gone", "")
	if len(f.a.applied) != 0 {
		t.Fatalf("applied still holds %d queues", len(f.a.applied))
	}
}

// WaitFor answers once Run has applied what the mirror held at the
// revision: a declare waits on it so that a new queue runs with its
// policy before the client hears declare-ok.
func TestApplierWaitFor(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { f.a.Run(ctx); close(done) }()
	f.policy("cap", "^q$", map[string]any{"max-length": 3.0})
	f.queue(1, "q", nil, true)
	if err := f.a.WaitFor(f.ctx, f.mirror.Revision()); err != nil {
		t.Fatal(err)
	}
	if got := f.node.took(); got != "q ttl=-1 max-len=3 dlx=false:" {
		t.Fatalf("after WaitFor: calls %q", got)
	}
	cancel()
	<-done
	late, stop := context.WithCancel(f.ctx)
	stop()
	if err := f.a.WaitFor(late, f.mirror.Revision()+1); err == nil {
		t.Fatal("WaitFor past the last pass returned without error once Run stopped")
	}
}
