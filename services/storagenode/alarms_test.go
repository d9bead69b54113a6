package storagenode

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/alarm"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/control-plane/natsembed"
)

// Each change of the node's alarms is announced once, on the node's
// subject, with a version above the last; heartbeats carry the latest.
func TestAlarmReporterAnnouncesChanges(t *testing.T) {
	ns, err := natsembed.Start(natsembed.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync(alarm.Subjects)
	if err != nil {
		t.Fatal(err)
	}
	r := &alarmReporter{nc: nc, name: "10.0.0.5:7001", log: slog.Default()}
	r.mu.st.Version = 41
	r.change(alarm.State{Disk: true})
	r.change(alarm.State{Disk: true}) // no change: no announcement
	r.change(alarm.State{})
	for _, want := range []alarm.Message{
		{Node: r.name, Status: alarm.Status{State: alarm.State{Disk: true}, Version: 42}},
		{Node: r.name, Status: alarm.Status{Version: 43}},
	} {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("waiting for %+v: %v", want, err)
		}
		got, err := alarm.Decode(m.Data)
		if err != nil || got != want || m.Subject != alarm.Subject(r.name) {
			t.Fatalf("heard %+v (%v) on %s, want %+v on %s", got, err, m.Subject, want, alarm.Subject(r.name))
		}
	}
	if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("unexpected announcement %s", m.Data)
	}
	var e registry.Entry
	r.heartbeat(&e)
	if e.Alarms != (alarm.Status{Version: 43}) {
		t.Fatalf("heartbeat carries %+v", e.Alarms)
	}
}

// A node started past its disk-free limit is listed with its disk alarm, so
// a gateway that starts after the alarm was raised learns of it.
func TestStorageNodeRegistersItsAlarms(t *testing.T) {
	ns, err := natsembed.Start(natsembed.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan registry.Entry, 1)
	go func() {
		done <- Run(ctx, Options{
			DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSURL: ns.ClientURL(), Name: "n1",
			DiskFreeLimit: 1e18, Log: slog.Default(), Ready: func(e registry.Entry) { ready <- e },
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("storage node ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("storage node not ready in 30s")
	}
	listed, err := registry.List(context.Background(), registryKV(t, ns.ClientURL()), registry.StorageNode)
	if err != nil || len(listed) != 1 {
		t.Fatalf("registry lists %+v (%v)", listed, err)
	}
	if a := listed[0].Alarms; !a.Disk || a.Memory || a.Version == 0 {
		t.Fatalf("registered alarms %+v, want the disk alarm, versioned", a)
	}
}
