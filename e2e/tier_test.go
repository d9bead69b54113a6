package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	if err := os.Mkdir(filepath.Join(s3.Dir, bucket), 0o755); err != nil { // the posix backend's bucket
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(s3.SecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWarren(t, t.TempDir(), "--tier", "s3", "--s3-endpoint", s3.Endpoint, "--s3-bucket", bucket,
		"--s3-access-key", s3.AccessKey, "--s3-secret-key-file", secret,
		"--queue-hot-bytes", "1048576", "--segment-bytes", "1048576")

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
