package topo

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// queueNode is a storage node that only keeps which queues exist; the
// other methods of storage.Node are not called by these tests.
type queueNode struct {
	storage.Node
	mu     sync.Mutex
	queues map[storage.QueueID]bool
}

func (n *queueNode) CreateQueue(_ context.Context, spec storage.QueueSpec) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queues[spec.ID] = true
	return nil
}

func (n *queueNode) DeleteQueue(_ context.Context, id storage.QueueID, _, _ bool) (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.queues, id)
	return 0, nil
}

// Touch and Stats answer a redeclare: the queue is there, and empty.
func (n *queueNode) Touch(context.Context, storage.QueueID) error { return nil }

func (n *queueNode) Stats(context.Context, storage.QueueID) (storage.QueueStats, error) {
	return storage.QueueStats{}, nil
}

func (n *queueNode) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.queues)
}

func TestCreateVHostWritesSystemExchanges(t *testing.T) {
	s, ctx := newService(t)
	v := topology.VHost{Name: "orders", Description: "order flow", Tags: []string{"prod"}}
	if err := s.CreateVHost(ctx, inst, v); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVHost(ctx, inst, v); !errors.Is(err, ErrVHostExists) {
		t.Fatalf("second create: %v, want ErrVHostExists", err)
	}
	s.read(inst, func(ix *route.Index) {
		got, ok := ix.VHostRecord("orders")
		if !ok || got.Description != "order flow" || len(got.Tags) != 1 {
			t.Errorf("vhost %+v ok=%v", got, ok)
		}
		for _, x := range topology.SystemExchanges("orders") {
			if _, ok := ix.Exchange("orders", x.Name); !ok {
				t.Errorf("system exchange %q missing", x.Name)
			}
		}
	})
}

func TestEnsureVHostKeepsMetadata(t *testing.T) {
	s, ctx := newService(t)
	if err := s.UpdateVHost(ctx, inst, topology.VHost{Name: "/", Description: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureVHost(ctx, inst, "/"); err != nil {
		t.Fatal(err)
	}
	s.read(inst, func(ix *route.Index) {
		if v, _ := ix.VHostRecord("/"); v.Description != "kept" {
			t.Errorf("a restart's EnsureVHost reset the vhost to %+v", v)
		}
	})
	if err := s.UpdateVHost(ctx, inst, topology.VHost{Name: "nope"}); !errors.Is(err, ErrNoVHost) {
		t.Fatalf("update of a missing vhost: %v, want ErrNoVHost", err)
	}
}

func TestDeleteVHostRemovesEverythingInIt(t *testing.T) {
	s, ctx := newService(t)
	node := &queueNode{queues: map[storage.QueueID]bool{}}
	s.SetNodes(StaticNodes{"n1": node})
	for _, vh := range []string{"doomed", "kept"} {
		if err := s.CreateVHost(ctx, inst, topology.VHost{Name: vh}); err != nil {
			t.Fatal(err)
		}
		fillVHost(ctx, t, s, vh)
	}
	perm, _ := topokv.EncodePermission(topology.FullAccess("doomed", "bob"))
	if _, err := s.kv.Put(ctx, topokv.PermissionKey(inst, "doomed", "bob"), perm); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVHost(ctx, inst, "doomed"); err != nil {
		t.Fatal(err)
	}
	if node.count() != 1 {
		t.Errorf("%d queues left on the node, want the other vhost's 1", node.count())
	}
	keys, err := s.listKeys(ctx, topokv.VHostContents(inst, "doomed"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("records left: %v", keys)
	}
	if _, err := s.kv.Get(ctx, topokv.VHostKey(inst, "doomed")); err == nil {
		t.Error("the vhost record is left")
	}
	s.read(inst, func(ix *route.Index) {
		if ix.VHost("doomed") || !ix.VHost("kept") {
			t.Error("wrong vhost deleted")
		}
		if _, ok := ix.Queue("kept", "q"); !ok {
			t.Error("the other vhost lost its queue")
		}
	})
}

// fillVHost declares an exchange, a queue and a binding between them.
func fillVHost(ctx context.Context, t *testing.T, s *Service, vhost string) {
	t.Helper()
	if _, err := s.DeclareExchange(ctx, inst, topology.Exchange{VHost: vhost, Name: "x", Type: topology.Direct}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeclareQueue(ctx, inst, "c1", topology.Queue{VHost: vhost, Name: "q", Durable: true}); err != nil {
		t.Fatal(err)
	}
	b := topology.Binding{VHost: vhost, Source: "x", DestKind: topology.ToQueue, Dest: "q", Key: "k"}
	if _, err := s.Bind(ctx, inst, b); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteInstanceContents(t *testing.T) {
	s, ctx := newService(t)
	node := &queueNode{queues: map[storage.QueueID]bool{}}
	s.SetNodes(StaticNodes{"n1": node})
	fillVHost(ctx, t, s, "/")
	user, _ := topokv.EncodeUser(topology.User{Name: "bob"})
	rec, _ := topokv.EncodeInstance(topology.Instance{Name: inst})
	for key, val := range map[string][]byte{topokv.UserKey(inst, "bob"): user, topokv.InstanceKey(inst): rec} {
		if _, err := s.kv.Put(ctx, key, val); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteInstanceContents(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if keys, err := s.listKeys(ctx, topokv.InstanceContents(inst)); err != nil || len(keys) != 0 {
		t.Fatalf("left %v (%v)", keys, err)
	}
	if node.count() != 0 {
		t.Errorf("%d queues left on the node", node.count())
	}
	if _, err := s.kv.Get(ctx, topokv.InstanceKey(inst)); err != nil {
		t.Errorf("the instance record went too: %v", err)
	}
}
