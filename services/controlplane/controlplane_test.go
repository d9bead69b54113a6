package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/controlgrpc"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/services/storagenode"
)

// startSplit runs a control plane and one storage node as the split
// deployment does (in-process here, talking over real NATS and gRPC) and
// returns a topology client.
func startSplit(t *testing.T) *controlgrpc.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type addrs struct{ nats, grpc string }
	ready := make(chan addrs, 1)
	go func() {
		err := Run(ctx, Options{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
			NATSAddr: "127.0.0.1:0", Log: slog.Default(),
			Ready: func(n, g string) { ready <- addrs{n, g} }})
		if err != nil && ctx.Err() == nil {
			t.Errorf("control plane: %v", err)
		}
	}()
	var a addrs
	select {
	case a = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("control plane not ready")
	}
	nodeReady := make(chan registry.Entry, 1)
	go func() {
		_ = storagenode.Run(ctx, storagenode.Options{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSURL: a.nats,
			Name: "n1", Log: slog.Default(), Ready: func(e registry.Entry) { nodeReady <- e }})
	}()
	select {
	case <-nodeReady:
	case <-time.After(30 * time.Second):
		t.Fatal("storage node not ready")
	}
	cc, err := grpc.NewClient(a.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return controlgrpc.NewClient(cc)
}

func code(err error) uint16 {
	var re *reply.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

func TestQueuesArePlacedOnRegisteredNodes(t *testing.T) {
	tp := startSplit(t)
	ctx := context.Background()
	res, err := tp.DeclareQueue(ctx, topology.DefaultInstance, "conn-1", topology.Queue{VHost: "/", Name: "orders", Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Queue.Node != "n1" || res.Queue.ID == 0 {
		t.Fatalf("placed on %q with id %d, want n1", res.Queue.Node, res.Queue.ID)
	}
	_, err = tp.DeclareQueue(ctx, topology.DefaultInstance, "conn-1", topology.Queue{VHost: "/", Name: "orders", Durable: false})
	if code(err) != reply.PreconditionFailed {
		t.Fatalf("inequivalent redeclare over gRPC: %v, want 406", err)
	}
}

// A storage node reports an x-expires queue unused over NATS; the control
// plane deletes it, after which the name can be declared differently.
func TestExpiredQueueIsDeleted(t *testing.T) {
	tp := startSplit(t)
	ctx := context.Background()
	q := topology.Queue{VHost: "/", Name: "short-lived", Args: amqp.Table{"x-expires": int32(200)}}
	if _, err := tp.DeclareQueue(ctx, topology.DefaultInstance, "conn-1", q); err != nil {
		t.Fatal(err)
	}
	other := topology.Queue{VHost: "/", Name: "short-lived", Durable: true}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := tp.DeclareQueue(ctx, topology.DefaultInstance, "conn-1", other)
		if err == nil {
			return // the expired queue is gone, so this is a new declaration
		}
		if code(err) != reply.PreconditionFailed {
			t.Fatalf("redeclare: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("x-expires queue still declared 15s after a 200ms expiry")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGatewayJudge: a gateway is dead once its heartbeat is older than the
// stale bound, whatever TTL it registered — unless the control plane has
// not been able to watch for that long (its start, a registry outage).
func TestGatewayJudge(t *testing.T) {
	live, err := registry.ForGatewayTimeout(10 * time.Second) // sweep 2 s, stale 8 s
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	beat := func(name string, at time.Duration) registry.Entry {
		return registry.Entry{Kind: registry.Gateway, Name: name, Heartbeat: t0.Add(at), TTL: time.Hour}
	}
	old := beat("old", -time.Minute)
	j := &gatewayJudge{live: live}
	steps := []struct {
		at      time.Duration // since t0; reads happen every sweep (2 s) unless blind
		blind   bool          // no read since the previous step
		entries []registry.Entry
		want    string // alive names, sorted
	}{
		{0, false, []registry.Entry{old, beat("fresh", 0)}, "fresh,old"}, // just started: old gets a grace
		{8 * time.Second, false, []registry.Entry{old, beat("fresh", 0)}, "fresh,old"},
		{10 * time.Second, false, []registry.Entry{old, beat("fresh", 0)}, ""}, // both over 8 s old
		{12 * time.Second, false, []registry.Entry{old, beat("fresh", 11*time.Second)}, "fresh"},
		{30 * time.Second, true, []registry.Entry{old, beat("fresh", 11*time.Second)}, "fresh,old"},
		{40 * time.Second, false, []registry.Entry{old, beat("fresh", 39*time.Second)}, "fresh"},
		{42 * time.Second, false, nil, ""}, // deregistered
	}
	var last time.Duration
	for _, s := range steps {
		for at := last + live.Sweep; !s.blind && at < s.at; at += live.Sweep {
			j.alive(s.entries, t0.Add(at))
		}
		up := j.alive(s.entries, t0.Add(s.at))
		names := make([]string, 0, len(up))
		for n := range up {
			names = append(names, n)
		}
		sort.Strings(names)
		if got := strings.Join(names, ","); got != s.want {
			t.Errorf("at %v: alive %q, want %q", s.at, got, s.want)
		}
		last = s.at
	}
}
