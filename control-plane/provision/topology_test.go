package provision

import (
	"context"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/control-plane/topo"
)

// statsNode is a storage node that keeps which queues exist and reports
// fixed counts for each; the other methods are not called here.
type statsNode struct {
	storage.Node
	mu     sync.Mutex
	queues map[storage.QueueID]bool
}

func (n *statsNode) CreateQueue(_ context.Context, spec storage.QueueSpec) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queues[spec.ID] = true
	return nil
}

func (n *statsNode) DeleteQueue(_ context.Context, id storage.QueueID, _, _ bool) (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.queues, id)
	return 0, nil
}

func (n *statsNode) Stats(_ context.Context, id storage.QueueID) (storage.QueueStats, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.queues[id] {
		return storage.QueueStats{}, reply.Errorf(reply.NotFound, "no queue")
	}
	return storage.QueueStats{Ready: 3, Unacked: 2, Consumers: 1, ReadyBytes: 30, HotBytes: 100, ColdBytes: 200,
		Counts: storage.MessageCounts{Publish: 1, Deliver: 2, DeliverNoAck: 3, Get: 4, GetNoAck: 5, GetEmpty: 6, Redeliver: 7, Ack: 8},
		Rates:  storage.MessageRates{Publish: 0.5, Deliver: 1.5, DeliverNoAck: 2.5, Get: 3.5, GetNoAck: 4.5, GetEmpty: 5.5, Redeliver: 6.5, Ack: 7.5},
	}, nil
}

func (n *statsNode) Touch(context.Context, storage.QueueID) error { return nil }

func (n *statsNode) PurgeQueue(context.Context, storage.QueueID) (uint64, error) { return 3, nil }

func (n *statsNode) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.queues)
}

// withNode gives the fixture's topology service one storage node.
func (f *fixture) withNode() *statsNode {
	n := &statsNode{queues: map[storage.QueueID]bool{}}
	f.s.topo.SetNodes(topo.StaticNodes{"n1": n})
	return n
}

func args(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExchanges(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	req := &pb.CreateExchangeRequest{Instance: "acme", Vhost: "/", Name: "orders", Type: "topic",
		Arguments: args(t, map[string]any{"alternate-exchange": "ae"})}
	x, err := f.s.CreateExchange(f.acme, req)
	if err != nil {
		t.Fatal(err)
	}
	if !x.GetDurable() || x.GetType() != "topic" || x.GetArguments().AsMap()["alternate-exchange"] != "ae" {
		t.Errorf("created %v; durable is the default, as in RabbitMQ's HTTP API", x)
	}
	if _, err := f.s.CreateExchange(f.acme, req); err != nil {
		t.Errorf("equivalent redeclare: %v", err)
	}
	bad := func(what string, code codes.Code, change func(r *pb.CreateExchangeRequest)) {
		r := proto.Clone(req).(*pb.CreateExchangeRequest)
		change(r)
		_, err := f.s.CreateExchange(f.acme, r)
		wantCode(t, what, err, code)
	}
	bad("inequivalent redeclare", codes.FailedPrecondition, func(r *pb.CreateExchangeRequest) { r.Type = "direct" })
	bad("reserved name", codes.InvalidArgument, func(r *pb.CreateExchangeRequest) { r.Name = "amq.mine" })
	bad("empty name", codes.InvalidArgument, func(r *pb.CreateExchangeRequest) { r.Name = "" })
	bad("long name", codes.InvalidArgument, func(r *pb.CreateExchangeRequest) { r.Name = strings.Repeat("x", 256) })
	bad("unknown type", codes.InvalidArgument, func(r *pb.CreateExchangeRequest) { r.Name, r.Type = "n", "x-random" })
	bad("unknown vhost", codes.NotFound, func(r *pb.CreateExchangeRequest) { r.Name, r.Vhost = "n", "nope" })
	bad("other instance", codes.PermissionDenied, func(r *pb.CreateExchangeRequest) { r.Instance = "other" })
	list, err := f.s.ListExchanges(f.acme, &pb.ListExchangesRequest{Instance: "acme", Vhost: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetExchanges()); n != 8 { // the 7 every vhost has, and orders
		t.Errorf("%d exchanges listed, want 8: %v", n, list)
	}
	_, err = f.s.DeleteExchange(f.acme, &pb.DeleteExchangeRequest{Instance: "acme", Vhost: "/", Name: "amq.direct"})
	wantCode(t, "delete a system exchange", err, codes.InvalidArgument)
	if _, err := f.s.DeleteExchange(f.acme, &pb.DeleteExchangeRequest{Instance: "acme", Vhost: "/", Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.GetExchange(f.acme, &pb.GetExchangeRequest{Instance: "acme", Vhost: "/", Name: "orders"})
	wantCode(t, "get after delete", err, codes.NotFound)
}

func TestQueuesCarryStatsAndArguments(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", &pb.Quotas{MaxQueues: proto.Uint32(1)})
	node := f.withNode()
	_, err := f.s.CreateQueue(f.acme, &pb.CreateQueueRequest{Instance: "acme", Vhost: "/", Name: "q",
		Arguments: args(t, map[string]any{"x-message-ttl": 60000.0})})
	if err != nil {
		t.Fatal(err)
	}
	q, err := f.s.GetQueue(f.acme, &pb.GetQueueRequest{Instance: "acme", Vhost: "/", Name: "q"})
	if err != nil {
		t.Fatal(err)
	}
	st := q.GetStats()
	if st.GetMessagesReady() != 3 || st.GetMessagesUnacknowledged() != 2 || st.GetConsumers() != 1 || st.GetMessageBytesReady() != 30 ||
		st.GetHotBytes() != 100 || st.GetColdBytes() != 200 {
		t.Errorf("stats %v", st)
	}
	counts := []uint64{st.GetPublish(), st.GetDeliver(), st.GetDeliverNoAck(), st.GetGet(), st.GetGetNoAck(),
		st.GetGetEmpty(), st.GetRedeliver(), st.GetAck()}
	rates := []float64{st.GetPublishRate(), st.GetDeliverRate(), st.GetDeliverNoAckRate(), st.GetGetRate(),
		st.GetGetNoAckRate(), st.GetGetEmptyRate(), st.GetRedeliverRate(), st.GetAckRate()}
	for i := range counts {
		if counts[i] != uint64(i+1) || rates[i] != float64(i)+0.5 {
			t.Errorf("message stats %v: counts %v rates %v, want 1… and 0.5…", st, counts, rates)
			break
		}
	}
	if q.GetArguments().AsMap()["x-message-ttl"] != 60000.0 || !q.GetDurable() || q.GetNode() != "n1" {
		t.Errorf("queue %v", q)
	}
	_, err = f.s.CreateQueue(f.acme, &pb.CreateQueueRequest{Instance: "acme", Vhost: "/", Name: "bad",
		Arguments: args(t, map[string]any{"x-message-ttl": "soon"})})
	wantCode(t, "bad argument", err, codes.InvalidArgument)
	_, err = f.s.CreateQueue(f.acme, &pb.CreateQueueRequest{Instance: "acme", Vhost: "/", Name: "amq.q"})
	wantCode(t, "reserved name", err, codes.InvalidArgument)
	_, err = f.s.CreateQueue(f.acme, &pb.CreateQueueRequest{Instance: "acme", Vhost: "/", Name: "second"})
	wantCode(t, "past the quota", err, codes.ResourceExhausted)
	if node.count() != 1 {
		t.Errorf("refused declares reached the node: %d queues there", node.count())
	}
	purged, err := f.s.PurgeQueue(f.acme, &pb.PurgeQueueRequest{Instance: "acme", Vhost: "/", Name: "q"})
	if err != nil || purged.GetMessageCount() != 3 {
		t.Errorf("purge: %v %v, want the node's 3", purged, err)
	}
	_, err = f.s.PurgeQueue(f.acme, &pb.PurgeQueueRequest{Instance: "acme", Vhost: "/", Name: "nope"})
	wantCode(t, "purge a missing queue", err, codes.NotFound)
	if _, err := f.s.DeleteQueue(f.acme, &pb.DeleteQueueRequest{Instance: "acme", Vhost: "/", Name: "q"}); err != nil {
		t.Fatal(err)
	}
	if node.count() != 0 {
		t.Error("delete left the queue on its node")
	}
}

func TestBindingsByPropertiesKey(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	f.withNode()
	if _, err := f.s.CreateQueue(f.acme, &pb.CreateQueueRequest{Instance: "acme", Vhost: "/", Name: "q"}); err != nil {
		t.Fatal(err)
	}
	bind := func(key string, a map[string]any) (*pb.Binding, error) {
		return f.s.CreateBinding(f.acme, &pb.CreateBindingRequest{Instance: "acme", Vhost: "/", Source: "amq.headers",
			Destination: "q", DestinationType: "queue", RoutingKey: key, Arguments: args(t, a)})
	}
	plain, err := bind("", nil)
	if err != nil {
		t.Fatal(err)
	}
	withArgs, err := bind("", map[string]any{"x-match": "any", "k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if plain.GetPropertiesKey() != "~" || !strings.HasPrefix(withArgs.GetPropertiesKey(), "~") || withArgs.GetPropertiesKey() == "~" {
		t.Errorf("properties keys %q and %q", plain.GetPropertiesKey(), withArgs.GetPropertiesKey())
	}
	_, err = bind("", map[string]any{"x-match": "some"})
	wantCode(t, "bad x-match", err, codes.FailedPrecondition)
	_, err = f.s.CreateBinding(f.acme, &pb.CreateBindingRequest{Instance: "acme", Vhost: "/", Source: "amq.direct",
		Destination: "nope", DestinationType: "queue"})
	wantCode(t, "missing queue", err, codes.NotFound)
	_, err = f.s.DeleteBinding(f.acme, &pb.DeleteBindingRequest{Instance: "acme", Vhost: "/", Source: "amq.headers",
		DestinationType: "queue", Destination: "q", PropertiesKey: withArgs.GetPropertiesKey()})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := f.s.ListBindings(f.acme, &pb.ListBindingsRequest{Instance: "acme"})
	if len(list.GetBindings()) != 1 || list.GetBindings()[0].GetPropertiesKey() != "~" {
		t.Errorf("after deleting one of two: %v", list)
	}
}

func TestPolicies(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	req := &pb.PutPolicyRequest{Instance: "acme", Vhost: "/", Name: "ttl", Pattern: "^q\\.",
		Definition: args(t, map[string]any{"message-ttl": 1000.0})}
	p, err := f.s.PutPolicy(f.acme, req)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetApplyTo() != "all" {
		t.Errorf("apply_to %q, want the default all", p.GetApplyTo())
	}
	req.Definition = args(t, map[string]any{"ha-mode": "all"})
	_, err = f.s.PutPolicy(f.acme, req)
	wantCode(t, "unsupported key", err, codes.InvalidArgument)
	got, err := f.s.GetPolicy(f.acme, &pb.GetPolicyRequest{Instance: "acme", Vhost: "/", Name: "ttl"})
	if err != nil || got.GetDefinition().AsMap()["message-ttl"] != 1000.0 {
		t.Fatalf("a refused put changed the policy: %v %v", got, err)
	}
	if _, err := f.s.DeletePolicy(f.acme, &pb.DeletePolicyRequest{Instance: "acme", Vhost: "/", Name: "ttl"}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.s.ListPolicies(f.acme, &pb.ListPoliciesRequest{Instance: "acme"})
	if len(list.GetPolicies()) != 0 {
		t.Errorf("after delete: %v", list)
	}
}
