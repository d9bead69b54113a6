// Package natstest gives tests a real NATS JetStream server: the control
// plane's embedded one (natsembed), in a temporary folder, in-process.
package natstest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/control-plane/natsembed"
)

// JetStream starts a server for the test and returns a connection to it
// and its JetStream context; both are closed when the test ends.
func JetStream(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	ns, err := natsembed.Start(natsembed.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := ns.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// Topology opens the topology bucket on js and a mirror watching it until
// ctx ends: what every control-plane service reads and writes.
func Topology(ctx context.Context, t testing.TB, js jetstream.JetStream) (jetstream.KeyValue, *topokv.Mirror) {
	t.Helper()
	kv, err := topokv.OpenBucket(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	m, err := topokv.Watch(ctx, kv, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	return kv, m
}
