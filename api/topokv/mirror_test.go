package topokv

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/internal/jstest"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
)

// startKV runs a real JetStream server in-process and opens the bucket.
func startKV(t *testing.T) jetstream.KeyValue {
	t.Helper()
	js := jstest.JetStream(t)
	kv, err := OpenBucket(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestMirrorFollowsWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := startKV(t)
	// Written before the watch starts: must arrive with the initial values.
	if _, err := kv.Put(ctx, VHostKey("inst", "/"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	m, err := Watch(ctx, kv, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	x := topology.Exchange{VHost: "/", Name: "logs", Type: topology.Fanout, Durable: true,
		Args: amqp.Table{"alternate-exchange": "ae", "n": int16(-3)}}
	val, err := EncodeExchange(x)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Create(ctx, ExchangeKey("inst", "/", "logs"), val)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
	var got topology.Exchange
	var ok, vhost bool
	m.Read("inst", func(ix *route.Index) { got, ok = ix.Exchange("/", "logs"); vhost = ix.VHost("/") })
	if !ok || !vhost {
		t.Fatalf("exchange present=%v vhost present=%v", ok, vhost)
	}
	if got.Args["n"] != int16(-3) || got.Type != topology.Fanout {
		t.Fatalf("argument types not preserved: %#v", got)
	}
	m.Read("other", func(ix *route.Index) {
		if _, ok := ix.Exchange("/", "logs"); ok {
			t.Fatal("instances are not isolated")
		}
	})
}

func TestMirrorAppliesBindingDeletes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := startKV(t)
	m, err := Watch(ctx, kv, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string, val []byte) uint64 {
		rev, err := kv.Put(ctx, key, val)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	xv, _ := EncodeExchange(topology.Exchange{VHost: "/", Name: "f", Type: topology.Fanout})
	qv, _ := EncodeQueue(topology.Queue{VHost: "/", Name: "q", ID: 42, Node: "n1"})
	b := topology.Binding{VHost: "/", Source: "f", DestKind: topology.ToQueue, Dest: "q", Args: amqp.Table{"k": "v"}}
	bv, _ := EncodeBinding(b)
	bk, err := BindingKey("i", b)
	if err != nil {
		t.Fatal(err)
	}
	put(ExchangeKey("i", "/", "f"), xv)
	put(QueueKey("i", "/", "q"), qv)
	if err := m.WaitFor(ctx, put(bk, bv)); err != nil {
		t.Fatal(err)
	}
	routed := func() int {
		n := 0
		m.Read("i", func(ix *route.Index) { n = len(ix.Route("/", "f", "", nil, nil)) })
		return n
	}
	if routed() != 1 {
		t.Fatal("binding not applied")
	}
	if err := kv.Delete(ctx, bk); err != nil {
		t.Fatal(err)
	}
	rev := put(VHostKey("i", "/"), []byte("{}")) // a later write: once applied, the delete is too
	if err := m.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if routed() != 0 {
		t.Fatal("binding delete not applied")
	}
}

func TestKeysRoundTripOddNames(t *testing.T) {
	for _, name := range []string{"", "amq.direct", "a.b*c>d", "ünïcode/é", " spaced "} {
		pk, ok := parseKey(QueueKey("inst", "/v.h", name))
		if !ok || pk.kind != kindQueue || pk.inst != "inst" || pk.vhost != "/v.h" || pk.name != name {
			t.Errorf("%q: parsed %+v ok=%v", name, pk, ok)
		}
	}
}
