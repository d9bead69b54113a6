package registry

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/warrenmq/warren/api/storage"
)

func TestNodesResolveLocalAndRegistered(t *testing.T) {
	kv := startKV(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodes := NewNodes(kv)
	defer nodes.Close()
	var local storage.Node // any value stands for the in-process node here
	nodes.SetLocal("self", local)
	firstLife, endFirstLife := context.WithCancel(ctx)
	if err := Register(firstLife, kv, Entry{Kind: StorageNode, Name: "n2", Addr: "127.0.0.1:1"}, time.Second, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if got := nodes.Names(); !slices.Equal(got, []string{"n2", "self"}) {
		t.Fatalf("names %v", got)
	}
	if _, ok := nodes.Node("self"); !ok {
		t.Fatal("local node not resolved")
	}
	first, ok := nodes.Node("n2")
	if !ok || first == nil {
		t.Fatal("registered node not resolved")
	}
	if again, _ := nodes.Node("n2"); again != first {
		t.Fatal("client not reused for the same address")
	}
	// n2 restarts on another address: the old client must not be used.
	// (Its first life's heartbeat ends, or it would write the old address back.)
	endFirstLife()
	if err := Register(ctx, kv, Entry{Kind: StorageNode, Name: "n2", Addr: "127.0.0.1:2"}, time.Second, slog.Default()); err != nil {
		t.Fatal(err)
	}
	// Lookups are served from a read of the registry up to cacheFor old, so
	// the move is seen within about that long.
	deadline := time.Now().Add(3 * cacheFor)
	for {
		if moved, _ := nodes.Node("n2"); moved != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client kept after the node moved")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := nodes.Node("unknown"); ok {
		t.Fatal("unregistered node resolved")
	}
}

// A node whose registry entry aged (its heartbeats lost while NATS was
// away) still resolves while the gateway's connection to it is up, and no
// longer once the node is gone.
func TestNodesKeepAConnectedNodeWhoseEntryAged(t *testing.T) {
	kv := startKV(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	nodes := NewNodes(kv)
	defer nodes.Close()

	beat, stopBeating := context.WithCancel(context.Background())
	const interval = 50 * time.Millisecond
	if err := Register(beat, kv, Entry{Kind: StorageNode, Name: "n1", Addr: ln.Addr().String()}, interval, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if _, ok := nodes.Node("n1"); !ok {
		t.Fatal("registered node not resolved")
	}
	waitState(t, nodes, "n1", connectivity.Ready)
	stopBeating()
	time.Sleep(3*interval + cacheFor) // past the TTL, and past the cached read
	if _, ok := nodes.Node("n1"); !ok {
		t.Fatal("a connected node was dropped because its heartbeat aged")
	}

	srv.Stop()
	waitState(t, nodes, "n1", connectivity.Idle, connectivity.TransientFailure)
	if _, ok := nodes.Node("n1"); ok {
		t.Fatal("a node neither registered alive nor connected still resolves")
	}
}

// waitState connects the cached client of name and waits until its
// connection is in one of states.
func waitState(t *testing.T, nodes *Nodes, name string, states ...connectivity.State) {
	t.Helper()
	nodes.mu.Lock()
	cc := nodes.mu.clients[name].cc
	nodes.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		s := cc.GetState()
		if slices.Contains(states, s) {
			return
		}
		if s == connectivity.Idle {
			cc.Connect()
		}
		if !cc.WaitForStateChange(ctx, s) {
			t.Fatalf("connection to %s stuck in %v, want %v", name, s, states)
		}
	}
}
