package topokv

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/route"
)

// TestMirrorFollowsAcrossServerRestart: after the NATS server restarts (as
// it does with a control plane that embeds it), writes made afterwards
// still reach the mirror, by the stall check alone.
func TestMirrorFollowsAcrossServerRestart(t *testing.T) {
	restartUnderMirror(t, false, 4*checkEvery)
}

// TestMirrorResumesOnReconnect: with Resume called on reconnect, the first
// write after a restart reaches the mirror before the stall check could
// have noticed it (two checks, checkEvery apart).
func TestMirrorResumesOnReconnect(t *testing.T) {
	restartUnderMirror(t, true, checkEvery)
}

// restartUnderMirror restarts the NATS server under a mirror, writes once
// the client is back, and fails unless the mirror holds the write within
// bound.
func restartUnderMirror(t *testing.T, resumeOnReconnect bool, bound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	ns := startServer(t, dir, -1)
	addr := ns.Addr().(*net.TCPAddr)
	nc, err := nats.Connect("nats://"+addr.String(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := OpenBucket(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Watch(ctx, kv, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if resumeOnReconnect {
		nc.SetReconnectHandler(func(*nats.Conn) { m.Resume() })
	}
	rev, err := kv.Put(ctx, VHostKey("inst", "before"), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	startServer(t, dir, addr.Port)
	var after uint64
	for {
		if after, err = kv.Put(ctx, VHostKey("inst", "after"), []byte("{}")); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no write after the restart: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, bound)
	defer wcancel()
	if err := m.WaitFor(wctx, after); err != nil {
		t.Fatalf("mirror at revision %d, the write after the restart is %d, after %v: %v", m.Revision(), after, bound, err)
	}
	var seen bool
	m.Read("inst", func(ix *route.Index) { seen = ix.VHost("after") })
	if !seen {
		t.Fatal("the vhost written after the restart is not in the mirror")
	}
}

// startServer runs a JetStream server keeping its state in dir, on port
// (-1 picks a free one), until the test ends.
func startServer(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// A watch that applies nothing is stuck even while the bucket keeps
// moving; one that applies is not, however far behind it is.
func TestStallCheck(t *testing.T) {
	steps := []struct {
		last, rev uint64
		ok, want  bool
	}{
		{10, 10, true, false}, // level
		{12, 10, true, false}, // behind: first sight
		{14, 10, true, true},  // behind again, mirror still at 10: stuck
		{20, 14, true, false}, // after the restart: first sight
		{25, 18, true, false}, // moving: not stuck
		{30, 18, false, false},
		{30, 18, true, false}, // an unreadable check starts over
		{31, 18, true, true},
	}
	var c stallCheck
	for i, s := range steps {
		if got := c.stuck(s.last, s.ok, s.rev); got != s.want {
			t.Fatalf("step %d (bucket %d, mirror %d, ok %v): stuck %v, want %v", i, s.last, s.rev, s.ok, got, s.want)
		}
	}
}
