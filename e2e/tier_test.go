package e2e

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
)

// TestColdTierS3: with a small hot threshold, warren serve moves a queue's
// backlog to a real S3-compatible server (versitygw), and after a SIGKILL
// and restart the whole backlog drains from it, in order, with nothing
// lost; the drained segments are then deleted from the store.
func TestColdTierS3(t *testing.T) {
	pending(t)
	if splitShape() {
		t.Skip("starts its own warren serve")
	}
	s3 := objstoretest.StartVersityGW(t)
	const bucket = "warren-e2e"
	w := startWarren(t, t.TempDir(), s3Flags(t, s3, bucket,
		"--queue-hot-bytes", "1048576", "--segment-bytes", "1048576")...)

	// Past the queue's 8 MiB cache (what is cached is not hot) and well
	// past the hot threshold: about 16 MiB go to S3.
	const n, size = 400, 64 << 10
	ch := openChannel(t, dialURL(t, w.URL()))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	q := uniqueName(t, "cold")
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil { // durable: it outlives the restart
		t.Fatal(err)
	}
	for i := range n {
		publishConfirmed(t, ch, "", q, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: numbered(i, size)})
	}
	waitFor(t, func() bool { return countObjects(t, filepath.Join(s3.Dir, bucket)) > 0 },
		10*time.Second, "segments to reach the S3 server")

	w.Kill()
	if err := w.Restart(); err != nil {
		t.Fatal(err)
	}
	ch = openChannel(t, dialURL(t, w.URL()))
	for i := range n {
		d := getOne(t, ch, q, false)
		if want := numbered(i, size); string(d.Body) != string(want) {
			t.Fatalf("message %d after the restart: %.20q, want %.20q", i, d.Body, want)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	expectEmpty(t, ch, q)
	// Drained segments are deleted from the store once their removal is
	// durable; nothing is left behind.
	waitFor(t, func() bool { return countObjects(t, filepath.Join(s3.Dir, bucket)) == 0 },
		30*time.Second, "the drained segments to be deleted from the S3 server")
}

// numbered is a body of size bytes that starts with i.
func numbered(i, size int) []byte {
	b := []byte(fmt.Sprintf("%08d ", i))
	return append(b, strings.Repeat("x", size-len(b))...)
}

// countObjects counts the files under an S3 posix backend's bucket folder.
func countObjects(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestColdTierStoreOutage: while the S3 server is down, publishing goes on
// until the node's hot budget is full; then publishers are blocked
// (connection.blocked), not failed, and once the server is back they are
// unblocked and every confirmed message drains in order.
func TestColdTierStoreOutage(t *testing.T) {
	pending(t)
	if splitShape() {
		t.Skip("starts its own warren serve")
	}
	s3 := objstoretest.StartVersityGW(t)
	w := startWarren(t, t.TempDir(), s3Flags(t, s3, "warren-outage",
		"--hot-bytes", "16777216", "--queue-hot-bytes", "1048576", "--segment-bytes", "1048576")...)
	conn := dialURL(t, w.URL())
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	ch := openChannel(t, conn)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	q := uniqueName(t, "outage")
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		if t.Failed() {
			dumpTier(t, w)
		}
	})
	s3.Stop()
	// The publisher goes on until the gateway blocks it (the alarm is
	// announced to a connection that publishes, as in RabbitMQ); past 8 MiB
	// of cache and 16 MiB of hot budget, a few thousand messages at most.
	const size, most = 64 << 10, 4000
	var stop atomic.Bool
	published := make(chan publishResult, 1)
	go func() { published <- publishUntil(ch, q, size, most, &stop) }()
	expectBlocking(t, blocked, true, "the hot budget filled while the store is down")
	stop.Store(true)
	s3.Start()
	expectBlocking(t, blocked, false, "the store came back")
	var n int
	select {
	case r := <-published:
		if r.err != nil {
			t.Fatal(r.err)
		}
		n = r.n
	case <-time.After(2 * time.Minute):
		t.Fatal("publishing did not finish after the store came back")
	}
	drain := openChannel(t, dialURL(t, w.URL()))
	for i := range n {
		d := getOne(t, drain, q, true)
		if want := numbered(i, size); string(d.Body) != string(want) {
			t.Fatalf("message %d: %.20q, want %.20q", i, d.Body, want)
		}
	}
	expectEmpty(t, drain, q)
}

// s3Flags are warren serve's flags for a tier on srv's bucket (created
// here), followed by extra.
func s3Flags(t *testing.T, srv *objstoretest.S3Server, bucket string, extra ...string) []string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(srv.Dir, bucket), 0o755); err != nil { // the posix backend's bucket
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(srv.SecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	return append([]string{"--tier", "s3", "--s3-endpoint", srv.Endpoint, "--s3-bucket", bucket,
		"--s3-access-key", srv.AccessKey, "--s3-secret-key-file", secret}, extra...)
}

type publishResult struct {
	n   int
	err error
}

// publishUntil publishes persistent numbered messages until stop is set
// (at most most of them), then waits for every confirm; a nack is an error.
func publishUntil(ch *amqp.Channel, q string, size, most int, stop *atomic.Bool) publishResult {
	var confirms []*amqp.DeferredConfirmation
	for i := 0; i < most && !stop.Load(); i++ {
		c, err := ch.PublishWithDeferredConfirm("", q, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: numbered(i, size)})
		if err != nil {
			return publishResult{i, fmt.Errorf("publish %d: %w", i, err)}
		}
		confirms = append(confirms, c)
	}
	for i, c := range confirms {
		if !c.Wait() {
			return publishResult{len(confirms), fmt.Errorf("message %d nacked", i)}
		}
	}
	return publishResult{len(confirms), nil}
}

// expectBlocking waits for a connection.blocked (active) or unblocked.
func expectBlocking(t *testing.T, notes <-chan amqp.Blocking, active bool, why string) {
	t.Helper()
	select {
	case b := <-notes:
		t.Logf("%s: %+v", why, b)
		if b.Active != active {
			t.Fatalf("%s: got blocking %+v, want active %v", why, b, active)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s: no connection.blocked/unblocked (want active %v)", why, active)
	}
}

// dumpTier logs the tier and alarm series of w's /metrics and its output,
// to tell a failed outage test's cause.
func dumpTier(t *testing.T, w *warrenProc) {
	resp, err := http.Get(w.MetricsURL())
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "tier") || strings.Contains(l, "alarm") || strings.Contains(l, "hot") {
				t.Log(l)
			}
		}
	}
	t.Log(w.Output())
}
