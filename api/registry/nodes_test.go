package registry

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

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
