package storagenode

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/storage/storagetest"
	"github.com/warrenmq/warren/api/storagegrpc"
	"github.com/warrenmq/warren/control-plane/natsembed"
)

// A storage node run as its own service: it registers, and the storage
// contract holds through its gRPC address as found in the registry; on
// shutdown it leaves the registry.
func TestStorageNodeServesContractAndRegisters(t *testing.T) {
	ns, err := natsembed.Start(natsembed.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan registry.Entry, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSURL: ns.ClientURL(), Name: "n1",
			Log: slog.Default(), Ready: func(e registry.Entry) { ready <- e },
		})
	}()
	var entry registry.Entry
	select {
	case entry = <-ready:
	case err := <-done:
		t.Fatalf("storage node ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("storage node not ready in 30s")
	}
	kv := registryKV(t, ns.ClientURL())
	listed, err := registry.List(context.Background(), kv, registry.StorageNode)
	if err != nil || len(listed) != 1 || listed[0].Name != "n1" || listed[0].Addr != entry.Addr {
		t.Fatalf("registry lists %+v (%v), want n1 at %s", listed, err, entry.Addr)
	}
	opts := append(storagegrpc.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient(listed[0].Addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := storagegrpc.NewClient(cc)
	storagetest.Run(t, func(*testing.T) storage.Node { return client })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("storage node did not stop in 30s")
	}
	if listed, _ := registry.List(context.Background(), kv, registry.StorageNode); len(listed) != 0 {
		t.Fatalf("still registered after shutdown: %+v", listed)
	}
}

func registryKV(t *testing.T, url string) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := registry.OpenBucket(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}
