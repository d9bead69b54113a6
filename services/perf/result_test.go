package perf

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestResultFieldNames pins the JSON field names and checks that each is
// documented in Result's doc comment: renaming one breaks bench.sh.
func TestResultFieldNames(t *testing.T) {
	line, err := json.Marshal(newResult(&Config{URI: "amqp://g:g@h:1/v"}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"uri_scheme_host", "producers", "consumers", "queues", "size", "persistent", "confirm",
		"prefetch", "auto_ack", "multi_ack_every", "coalesce_writes", "rate_limit", "duration_s", "published",
		"confirmed", "nacked", "returned", "consumed", "duplicates", "duplicates_redelivered",
		"unexpected", "publish_rate", "consume_rate", "latency_p50_ms", "latency_p99_ms",
		"latency_max_ms", "backlog", "publish_s", "drain_s", "drain_rate", "peak_rss_bytes", "error",
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, sorted) {
		t.Errorf("fields\n got %v\nwant %v", got, sorted)
	}
	for _, null := range []string{"drain_rate", "peak_rss_bytes", "error"} {
		if m[null] != nil {
			t.Errorf("%s = %v, want null", null, m[null])
		}
	}
	if m["uri_scheme_host"] != "amqp://h:1" {
		t.Errorf("uri_scheme_host = %v: credentials or vhost leaked", m["uri_scheme_host"])
	}
}

func TestProgressLine(t *testing.T) {
	prev := totals{published: 1000, confirmed: 900, consumed: 800}
	cur := totals{published: 62234, confirmed: 61900, nacked: 2, returned: 1, consumed: 61787, duplicates: 3}
	var h Histogram
	for i := range 100 {
		h.Record(int64(i+1) * int64(time.Millisecond))
	}
	var lat histSnapshot
	h.snapshotInto(&lat)
	got := progressLine("", 3*time.Second, time.Second, &prev, &cur, &lat, "")
	want := "time 3s, sent 61234 msg/s, confirmed 61000 msg/s, nacked 2, returned 1, received 60987 msg/s, latency p50/p99 50.070/99.090 ms, DUPLICATES 3" // bucket midpoints
	if got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	got = progressLine("drain", 1500*time.Millisecond, 2*time.Second, &prev, &prev, &histSnapshot{}, "low on memory")
	if !strings.HasPrefix(got, "drain: time 2s, sent 0 msg/s") || !strings.Contains(got, "-/- ms") || !strings.HasSuffix(got, "blocked by broker: low on memory") {
		t.Errorf("idle line %q", got)
	}
}

// TestMainConnectFailure runs Main against a closed port: exit 1, a clear
// error on stderr, and a JSON line carrying it.
func TestMainConnectFailure(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"--uri", "amqp://guest:guest@127.0.0.1:1/", "--json-only"}, &stdout, &stderr)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitFailed, stderr.String())
	}
	if !regexp.MustCompile(`setup: connect: .*refused`).MatchString(stderr.String()) {
		t.Errorf("stderr %q does not say which connection failed and why", stderr.String())
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("result line %q: %v", stdout.String(), err)
	}
	if res.Error == nil || !strings.Contains(*res.Error, "refused") {
		t.Errorf("error field = %v", res.Error)
	}
}
