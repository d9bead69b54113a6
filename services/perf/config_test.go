package perf

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	got, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		URI: "amqp://guest:guest@127.0.0.1:5672/", Producers: 1, Consumers: 1, Queues: 1,
		QueuePrefix: "perf", Size: 16, MultiAckEvery: 1, Duration: 10 * time.Second,
		DeleteQueuesAfter: true, CoalesceWrites: true,
	}
	if got != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseFlagsAll(t *testing.T) {
	args := []string{
		"--uri", "amqp://u:p@h:1234/v", "--producers", "4", "--consumers", "3", "--queues", "2",
		"--queue-prefix", "q", "--size", "1024", "--persistent", "--confirm", "100",
		"--prefetch", "200", "--multi-ack-every", "10", "--rate", "5000.5", "--duration", "1m",
		"--backlog", "1000", "--predeclared", "--delete-queues-after=false", "-json-only",
		"--coalesce-writes=false",
	}
	got, err := parseFlags(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		URI: "amqp://u:p@h:1234/v", Producers: 4, Consumers: 3, Queues: 2, QueuePrefix: "q",
		Size: 1024, Persistent: true, Confirm: 100, Prefetch: 200, MultiAckEvery: 10,
		Rate: 5000.5, Duration: time.Minute, Backlog: 1000, Predeclared: true, JSONOnly: true,
	}
	if got != want {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
	if q := got.queueName(1); q != "q-1" {
		t.Errorf("queueName(1) = %q", q)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string // in the message written to output
	}{
		{[]string{"--size", "15"}, "--size"},
		{[]string{"--size", "100000000"}, "--size"},
		{[]string{"--producers", "0", "--consumers", "0"}, "at least one"},
		{[]string{"--producers", "1001"}, "--producers"},
		{[]string{"--queues", "0"}, "--queues"},
		{[]string{"--confirm", "-1"}, "--confirm"},
		{[]string{"--prefetch", "70000"}, "--prefetch"},
		{[]string{"--prefetch", "10", "--multi-ack-every", "11"}, "stall"},
		{[]string{"--multi-ack-every", "0"}, "--multi-ack-every"},
		{[]string{"--rate", "-1"}, "--rate"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--backlog", "10"}, "--confirm"},
		{[]string{"--backlog", "10", "--confirm", "5", "--consumers", "0"}, "producers and consumers"},
		{[]string{"--queue-prefix", ""}, "--queue-prefix"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--no-such-flag"}, "not defined"},
		{[]string{"--producers", "x"}, "invalid value"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		_, err := parseFlags(c.args, &out)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%v: output %q does not mention %q", c.args, out.String(), c.want)
		}
	}
}

func TestParseFlagsAccepted(t *testing.T) {
	for _, args := range [][]string{
		{"--auto-ack", "--prefetch", "10", "--multi-ack-every", "50"}, // ack settings unused with auto-ack
		{"--backlog", "10", "--confirm", "1", "--duration", "0s"},     // duration unused in backlog mode
		{"--producers", "0"},
		{"-size=16", "-rate=0"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "-multi-ack-every") {
		t.Errorf("usage does not list the flags:\n%s", out.String())
	}
}

func TestMainUsageExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--size", "1"}, exitUsage},
		{[]string{"-h"}, exitOK},
	} {
		var stdout, stderr bytes.Buffer
		if got := Main(c.args, &stdout, &stderr); got != c.want {
			t.Errorf("Main(%v) = %d, want %d; stderr %s", c.args, got, c.want, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("Main(%v) wrote a result for a run that did not happen: %s", c.args, stdout.String())
		}
	}
}
