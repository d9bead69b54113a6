package perf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// These tests run Main against the broker at $AMQP_URL (Warren or
// RabbitMQ) and are skipped without it. Queue names carry the test name
// and pid, so runs sharing a broker do not collide.

func brokerURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("AMQP_URL")
	if url == "" {
		t.Skip("AMQP_URL not set")
	}
	return url
}

func queuePrefix(t *testing.T) string {
	return fmt.Sprintf("perf-test-%d-%s", os.Getpid(), t.Name())
}

// runMain runs Main and decodes its result line.
func runMain(t *testing.T, args ...string) (Result, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one result line on stdout, got %q", stdout.String())
	}
	var res Result
	dec := json.NewDecoder(strings.NewReader(lines[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("result line %q: %v", lines[0], err)
	}
	return res, code, stderr.String()
}

func TestIntegrationTimed(t *testing.T) {
	url := brokerURL(t)
	res, code, stderr := runMain(t, "--uri", url, "--queue-prefix", queuePrefix(t), "--duration", "2s",
		"--producers", "2", "--consumers", "2", "--queues", "2", "--confirm", "50", "--prefetch", "50",
		"--multi-ack-every", "10", "--rate", "2000")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if res.Published == 0 || res.Consumed == 0 || res.Confirmed == 0 {
		t.Errorf("nothing flowed: %+v", res)
	}
	if res.Duplicates != 0 || res.Unexpected != 0 || res.Nacked != 0 || res.Returned != 0 {
		t.Errorf("anomalies: %+v", res)
	}
	if res.Consumed > res.Published {
		t.Errorf("consumed %d > published %d", res.Consumed, res.Published)
	}
	// 2000 msg/s for 2 s: the pacer caps what can be published.
	if res.Published > 2000*2+2*uint64(2000*pacerCatchUp.Seconds())+2 {
		t.Errorf("published %d exceeds the rate limit", res.Published)
	}
	if !strings.Contains(stderr, "time 1s, sent") {
		t.Errorf("no progress line on stderr: %q", stderr)
	}
}

func TestIntegrationBacklog(t *testing.T) {
	url := brokerURL(t)
	const n = 20000
	res, code, stderr := runMain(t, "--uri", url, "--queue-prefix", queuePrefix(t), "--backlog", fmt.Sprint(n),
		"--producers", "2", "--consumers", "3", "--size", "1024", "--persistent", "--confirm", "100",
		"--prefetch", "100", "--json-only")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--json-only wrote to stderr: %q", stderr)
	}
	if res.Published != n || res.Confirmed != n || res.Consumed != n {
		t.Errorf("published %d confirmed %d consumed %d, want %d each", res.Published, res.Confirmed, res.Consumed, n)
	}
	if res.Duplicates+res.DuplicatesRedelivered+res.Unexpected != 0 {
		t.Errorf("anomalies: %+v", res)
	}
	if res.DrainRate == nil || *res.DrainRate <= 0 || res.PublishS == nil || res.DrainS == nil {
		t.Errorf("backlog timings missing: %+v", res)
	}
}

// TestIntegrationBrokerError: a queue that exists with other properties
// makes the broker close the channel with 406; the tool must say so.
func TestIntegrationBrokerError(t *testing.T) {
	url := brokerURL(t)
	prefix := queuePrefix(t)
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(prefix+"-0", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer ch.QueueDelete(prefix+"-0", false, false, false)
	// Transient run against the durable queue.
	res, code, stderr := runMain(t, "--uri", url, "--queue-prefix", prefix, "--duration", "1s",
		"--delete-queues-after=false", "--json-only")
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stderr, "declare queue "+prefix+"-0: channel closed with code 406") {
		t.Errorf("stderr %q lacks the reply code", stderr)
	}
	if res.Error == nil || !strings.Contains(*res.Error, "PRECONDITION_FAILED") {
		t.Errorf("error field = %v", res.Error)
	}
}
