package topokv

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
)

// The access generation moves with every record a login or permission
// check depends on, and not with exchanges, queues or bindings, which
// change far more often.
func TestAccessGenerationFollowsAccessRecords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := startKV(t)
	m, err := Watch(ctx, kv, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	apply := func(key string, val []byte) {
		t.Helper()
		rev, err := kv.Put(ctx, key, val)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.WaitFor(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	x := must(t)(EncodeExchange(topology.Exchange{VHost: "/", Name: "x", Type: topology.Direct}))
	cases := []struct {
		what  string
		key   string
		val   []byte
		moves bool
	}{
		{"instance", InstanceKey("acme"), must(t)(EncodeInstance(topology.Instance{Status: topology.Active})), true},
		{"vhost", VHostKey("acme", "/"), []byte("{}"), true},
		{"user", UserKey("acme", "bob"), must(t)(EncodeUser(topology.User{PasswordHash: "h"})), true},
		{"permission", PermissionKey("acme", "/", "bob"), must(t)(EncodePermission(topology.FullAccess("", ""))), true},
		{"exchange", ExchangeKey("acme", "/", "x"), x, false},
	}
	for _, c := range cases {
		before := m.AccessGeneration()
		apply(c.key, c.val)
		if moved := m.AccessGeneration() != before; moved != c.moves {
			t.Errorf("%s: generation moved=%v, want %v", c.what, moved, c.moves)
		}
	}
	before := m.AccessGeneration()
	deleteAll(ctx, t, kv, UserKey("acme", "bob"))
	apply(ExchangeKey("acme", "/", "y"), x) // a revision after the delete, to wait on
	if m.AccessGeneration() == before {
		t.Error("deleting a user did not move the generation")
	}
}

// Storage nodes report queues by ID; QueueInstance finds whose they are.
func TestQueueInstance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := startKV(t)
	m, err := Watch(ctx, kv, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	put := func(inst, name string, id storage.QueueID) {
		t.Helper()
		q := topology.Queue{VHost: "/", Name: name, ID: id}
		rev, err := kv.Put(ctx, QueueKey(inst, "/", name), must(t)(EncodeQueue(q)))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.WaitFor(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, want map[storage.QueueID]string) {
		t.Helper()
		for id, w := range want {
			if got, ok := m.QueueInstance(id); got != w || ok != (w != "") {
				t.Errorf("%s: queue %d: %q %v, want %q", when, id, got, ok, w)
			}
		}
	}
	put("acme", "same-name", 1)
	put("other", "same-name", 2)
	put("other", "gone", 4)
	check("declared", map[storage.QueueID]string{1: "acme", 2: "other", 3: "", 4: "other"})
	put("acme", "same-name", 3) // deleted and declared again: a new ID
	deleteAll(ctx, t, kv, QueueKey("other", "/", "gone"))
	put("other", "after-delete", 5) // a revision after the delete, to wait on
	check("redeclared", map[storage.QueueID]string{1: "", 2: "other", 3: "acme", 4: "", 5: "other"})
}
