package topokv

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
)

func TestAccessKeysRoundTrip(t *testing.T) {
	for _, c := range []struct {
		key  string
		want parsedKey
	}{
		{InstanceKey("acme"), parsedKey{kind: kindInstance, inst: "acme"}},
		{UserKey("acme", "a.b:c"), parsedKey{kind: kindUser, inst: "acme", name: "a.b:c"}},
		{PermissionKey("acme", "/", "bob"), parsedKey{kind: kindPermission, inst: "acme", vhost: "/", name: "bob"}},
		{VHostKey("acme", "prod.eu"), parsedKey{kind: kindVHost, inst: "acme", vhost: "prod.eu"}},
		{PolicyKey("acme", "/", "ttl.all"), parsedKey{kind: kindPolicy, inst: "acme", vhost: "/", name: "ttl.all"}},
	} {
		if got, ok := parseKey(c.key); !ok || got != c.want {
			t.Errorf("%s: parsed %+v ok=%v, want %+v", c.key, got, ok, c.want)
		}
	}
	for _, bad := range []string{"i", "i.nYQ.nYQ", "u.nYQ", "p.nYQ.nYQ", "z.nYQ.nYQ", "u.nYQ.!!"} {
		if pk, ok := parseKey(bad); ok {
			t.Errorf("%q parsed as %+v", bad, pk)
		}
	}
}

// The filters decide what a vhost or instance deletion removes: they must
// match exactly that vhost's or instance's records, on a real bucket.
func TestContentFilters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := startKV(t)
	keys := []string{
		InstanceKey("a"), VHostKey("a", "/"), VHostKey("a", "v2"), UserKey("a", "u"),
		PermissionKey("a", "/", "u"), PermissionKey("a", "v2", "u"),
		ExchangeKey("a", "/", "x"), QueueKey("a", "/", "q"), ExchangeKey("a", "v2", "x"), PolicyKey("a", "/", "p"),
		VHostKey("ab", "/"), QueueKey("ab", "/", "q"), UserKey("ab", "u"), InstanceKey("ab"),
	}
	for _, k := range keys {
		if _, err := kv.Put(ctx, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	list := func(filter string) []string {
		l, err := kv.ListKeysFiltered(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for k := range l.Keys() {
			got = append(got, k)
		}
		slices.Sort(got)
		return got
	}
	sorted := func(k ...string) []string { slices.Sort(k); return k }
	if got, want := list(VHostContents("a", "/")), sorted(PermissionKey("a", "/", "u"),
		ExchangeKey("a", "/", "x"), QueueKey("a", "/", "q"), PolicyKey("a", "/", "p")); !slices.Equal(got, want) {
		t.Errorf("vhost contents: got %v, want %v", got, want)
	}
	if got, want := list(InstanceContents("a")), sorted(keys[1:10]...); !slices.Equal(got, want) {
		t.Errorf("instance contents: got %v, want %v", got, want)
	}
}

func TestMirrorFollowsAccessRecords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := startKV(t)
	m, err := Watch(ctx, kv, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string, val []byte) uint64 {
		t.Helper()
		rev, err := kv.Put(ctx, key, val)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	inst := topology.Instance{Quotas: topology.Quotas{MaxQueues: 7}, Status: topology.Active}
	put(InstanceKey("acme"), must(t)(EncodeInstance(inst)))
	put(VHostKey("acme", "v"), must(t)(EncodeVHost(topology.VHost{Description: "d", Tags: []string{"t"}})))
	put(UserKey("acme", "bob"), must(t)(EncodeUser(topology.User{PasswordHash: "h", Tags: []string{"management"}})))
	put(PermissionKey("acme", "v", "bob"), must(t)(EncodePermission(topology.FullAccess("", ""))))
	pol := topology.Policy{Pattern: "^q", ApplyTo: "queues", Priority: 2, Definition: map[string]any{"max-length": 10.0}}
	rev := put(PolicyKey("acme", "v", "cap"), must(t)(EncodePolicy(pol)))
	if err := m.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
	m.ReadAccess("acme", func(a *Access) {
		if i, ok := a.Instance(); !ok || i.Name != "acme" || i.Quotas.MaxQueues != 7 {
			t.Errorf("instance %+v ok=%v", i, ok)
		}
		if u, ok := a.User("bob"); !ok || u.Name != "bob" || u.PasswordHash != "h" {
			t.Errorf("user %+v ok=%v", u, ok)
		}
		if p, ok := a.Permission("v", "bob"); !ok || p.VHost != "v" || p.User != "bob" || p.Read != ".*" {
			t.Errorf("permission %+v ok=%v", p, ok)
		}
		if p, ok := a.Policy("v", "cap"); !ok || p.VHost != "v" || p.Name != "cap" || p.Priority != 2 || p.Definition["max-length"] != 10.0 {
			t.Errorf("policy %+v ok=%v", p, ok)
		}
	})
	m.Read("acme", func(ix *route.Index) {
		if v, ok := ix.VHostRecord("v"); !ok || v.Name != "v" || v.Description != "d" {
			t.Errorf("vhost %+v ok=%v", v, ok)
		}
		if p, ok := ix.QueuePolicy(&topology.Queue{VHost: "v", Name: "q1"}); !ok || p.Name != "cap" {
			t.Errorf("the index does not apply the policy: %+v ok=%v", p, ok)
		}
	})
	m.ReadAccess("other", func(a *Access) {
		if _, ok := a.User("bob"); ok {
			t.Error("instances are not isolated")
		}
	})
	deleteAll(ctx, t, kv, InstanceKey("acme"), UserKey("acme", "bob"), PermissionKey("acme", "v", "bob"), PolicyKey("acme", "v", "cap"))
	if err := m.WaitFor(ctx, put(VHostKey("acme", "v2"), []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	m.ReadAccess("acme", func(a *Access) {
		if _, ok := a.Instance(); ok || !a.empty() {
			t.Error("deletes not applied")
		}
	})
	m.Read("acme", func(ix *route.Index) {
		if p, ok := ix.QueuePolicy(&topology.Queue{VHost: "v", Name: "q1"}); ok {
			t.Errorf("the index still applies the deleted policy %+v", p)
		}
	})
	n := 0
	m.Instances(func(topology.Instance) { n++ })
	if n != 0 {
		t.Errorf("%d instances listed after the delete", n)
	}
}

// A vhost record from before vhosts had metadata is "{}".
func TestOldVHostRecord(t *testing.T) {
	if v, err := DecodeVHost([]byte("{}")); err != nil || v.Description != "" {
		t.Fatalf("%+v %v", v, err)
	}
}

// must returns a record encoder's bytes, failing the test on its error.
func must(t *testing.T) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func deleteAll(ctx context.Context, t *testing.T, kv jetstream.KeyValue, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := kv.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSortForDelete(t *testing.T) {
	b, _ := BindingKey("a", topology.Binding{VHost: "/", Source: "x", DestKind: topology.ToQueue, Dest: "q"})
	keys := []string{VHostKey("a", "/"), ExchangeKey("a", "/", "x"), QueueKey("a", "/", "q"), b,
		PermissionKey("a", "/", "u"), InstanceKey("a"), UserKey("a", "u")}
	SortForDelete(keys)
	want := []string{PermissionKey("a", "/", "u"), b, QueueKey("a", "/", "q"), ExchangeKey("a", "/", "x"),
		UserKey("a", "u"), VHostKey("a", "/"), InstanceKey("a")}
	if !slices.Equal(keys, want) {
		t.Fatalf("got %v\nwant %v", keys, want)
	}
}
