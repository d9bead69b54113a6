package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestResourceAlarmBlocksPublishers (Warren only: it needs to set the alarm
// threshold): with a disk-free limit no disk can meet, the storage node raises
// its disk alarm; a connection that publishes gets connection.blocked "low on
// disk" and its messages are not taken, while a consuming connection stays up.
func TestResourceAlarmBlocksPublishers(t *testing.T) {
	pending(t)
	w := startWarren(t, t.TempDir(), "--disk-free-limit", "1000000000000000000")
	consumerConn := dialURL(t, w.URL())
	cons := openChannel(t, consumerConn)
	q := declareQueue(t, cons, uniqueName(t, "q"), nil).Name
	deliveries, err := cons.Consume(q, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	pubConn := dialURL(t, w.URL())
	blocked := pubConn.NotifyBlocked(make(chan amqp.Blocking, 4))
	pub := openChannel(t, pubConn)
	deadline := time.Now().Add(10 * time.Second)
	var b amqp.Blocking
	for got := false; !got; {
		if time.Now().After(deadline) {
			t.Fatal("no connection.blocked within 10s of publishing under a disk alarm")
		}
		if err := pub.Publish("", q, false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatalf("publish: %v", err)
		}
		select {
		case b = <-blocked:
			got = true
		case <-time.After(300 * time.Millisecond):
		}
	}
	if !b.Active || b.Reason != "low on disk" {
		t.Fatalf("blocking %+v, want active with reason %q", b, "low on disk")
	}
	// Publishes sent before the alarm was raised may have gone through;
	// once blocked, nothing more arrives.
	drainUntilQuiet(deliveries, 300*time.Millisecond)
	if err := pub.Publish("", q, false, false, amqp.Publishing{Body: []byte("after")}); err != nil {
		t.Fatalf("publish while blocked: %v", err)
	}
	select {
	case d := <-deliveries:
		t.Fatalf("a blocked publisher's message %q was delivered", d.Body)
	case <-time.After(500 * time.Millisecond):
	}
	if consumerConn.IsClosed() {
		t.Fatal("the consuming connection was closed by the alarm")
	}
	metrics := httpGet(t, w.MetricsURL())
	if !strings.Contains(metrics, "warren_connections 2") {
		t.Errorf("/metrics does not report the 2 open connections:\n%s", metrics)
	}
	// A blocked connection is not read (as in RabbitMQ), so its client's
	// close would wait for a timeout: end the broker first.
	w.Kill()
}

func drainUntilQuiet(ds <-chan amqp.Delivery, quiet time.Duration) {
	for {
		select {
		case <-ds:
		case <-time.After(quiet):
			return
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}
