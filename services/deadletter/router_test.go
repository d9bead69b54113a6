package deadletter

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
)

// recordingNode is a storage node that keeps what is appended to it.
type recordingNode struct {
	storage.Node // other methods are not called
	mu           sync.Mutex
	got          []storage.QueueID
}

func (n *recordingNode) Append(_ context.Context, batch []storage.Publish) ([]storage.Outcome, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range batch {
		n.got = append(n.got, p.Queues...)
	}
	return make([]storage.Outcome, len(batch)), nil
}

func (n *recordingNode) take() []storage.QueueID {
	n.mu.Lock()
	defer n.mu.Unlock()
	got := n.got
	n.got = nil
	slices.Sort(got)
	return got
}

// Queue IDs of the fixture: each instance has a queue "work" dead-lettering
// through "dlx" with key "k" into its own queue "dead".
const (
	defaultWork, defaultDead storage.QueueID = 11, 12
	acmeWork, acmeDead       storage.QueueID = 21, 22
	otherWork, otherDead     storage.QueueID = 31, 32
)

type fixture struct {
	kv     jetstream.KeyValue
	mirror *topokv.Mirror
	node   *recordingNode
	router *Router
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, js := natstest.JetStream(t)
	f := &fixture{node: &recordingNode{}}
	f.kv, f.mirror = natstest.Topology(ctx, t, js)
	f.router = &Router{Mirror: f.mirror, KV: f.kv, Log: slog.Default(),
		Node: func(name string) (storage.Node, bool) { return f.node, name == "n1" }}
	for inst, ids := range map[string][2]storage.QueueID{
		topology.DefaultInstance: {defaultWork, defaultDead},
		"acme":                   {acmeWork, acmeDead},
		"other":                  {otherWork, otherDead},
	} {
		f.declare(t, inst, ids[0], ids[1])
	}
	return f
}

// declare writes one instance's topology and waits for the mirror to hold it.
func (f *fixture) declare(t *testing.T, inst string, work, dead storage.QueueID) {
	t.Helper()
	ctx := context.Background()
	b := topology.Binding{VHost: "/", Source: "dlx", DestKind: topology.ToQueue, Dest: "dead", Key: "k"}
	bkey, err := topokv.BindingKey(inst, b)
	if err != nil {
		t.Fatal(err)
	}
	records := []struct {
		key string
		val func() ([]byte, error)
	}{
		{topokv.VHostKey(inst, "/"), func() ([]byte, error) { return topokv.EncodeVHost(topology.VHost{Name: "/"}) }},
		{topokv.ExchangeKey(inst, "/", "dlx"), func() ([]byte, error) {
			return topokv.EncodeExchange(topology.Exchange{VHost: "/", Name: "dlx", Type: topology.Direct})
		}},
		{topokv.QueueKey(inst, "/", "work"), func() ([]byte, error) {
			return topokv.EncodeQueue(topology.Queue{VHost: "/", Name: "work", ID: work, Node: "n1"})
		}},
		{topokv.QueueKey(inst, "/", "dead"), func() ([]byte, error) {
			return topokv.EncodeQueue(topology.Queue{VHost: "/", Name: "dead", ID: dead, Node: "n1"})
		}},
		{bkey, func() ([]byte, error) { return topokv.EncodeBinding(b) }},
	}
	var rev uint64
	for _, r := range records {
		val, err := r.val()
		if err != nil {
			t.Fatal(err)
		}
		if rev, err = f.kv.Put(ctx, r.key, val); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.mirror.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
}

func deadLetter(from storage.QueueID) storage.DeadLetter {
	return storage.DeadLetter{Queue: from, VHost: "/", Exchange: "dlx", RoutingKeys: []string{"k"},
		Msg: &storage.Message{Exchange: "dlx", RoutingKey: "k", Body: []byte("x"), TTL: -1}}
}

// Instances with the same names in them stay apart: a dead letter reaches
// the queue of its source queue's instance only.
func TestRouterRoutesInSourceInstance(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name  string
		batch []storage.DeadLetter
		want  []storage.QueueID
	}{
		{"default instance", []storage.DeadLetter{deadLetter(defaultWork)}, []storage.QueueID{defaultDead}},
		{"other instance", []storage.DeadLetter{deadLetter(acmeWork)}, []storage.QueueID{acmeDead}},
		{"mixed batch", []storage.DeadLetter{deadLetter(otherWork), deadLetter(acmeWork), deadLetter(otherWork)},
			[]storage.QueueID{acmeDead, otherDead, otherDead}},
		{"stored before dead letters named their source", []storage.DeadLetter{deadLetter(0)},
			[]storage.QueueID{defaultDead}},
		{"source queue deleted: dropped, not routed elsewhere", []storage.DeadLetter{deadLetter(99), deadLetter(acmeWork)},
			[]storage.QueueID{acmeDead}},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := f.router.DeadLetter(ctx, c.batch)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := f.node.take(); !slices.Equal(got, c.want) {
			t.Errorf("%s: appended to %v, want %v", c.name, got, c.want)
		}
	}
}

// A source queue declared a moment ago, not yet in the mirror, is caught
// up with rather than taken for deleted.
func TestRouterCatchesUpWithNewQueue(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const fresh storage.QueueID = 41
	q := topology.Queue{VHost: "/", Name: "fresh", ID: fresh, Node: "n1"}
	val, err := topokv.EncodeQueue(q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.kv.Put(ctx, topokv.QueueKey("acme", "/", "fresh"), val); err != nil {
		t.Fatal(err)
	}
	// No wait for the mirror here.
	if err := f.router.DeadLetter(ctx, []storage.DeadLetter{deadLetter(fresh)}); err != nil {
		t.Fatal(err)
	}
	if got := f.node.take(); !slices.Equal(got, []storage.QueueID{acmeDead}) {
		t.Errorf("appended to %v, want [%d]", got, acmeDead)
	}
}
