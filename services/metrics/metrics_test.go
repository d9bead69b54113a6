package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRenderPrometheusText(t *testing.T) {
	got := Render([]Sample{
		{Name: "warren_queue_ready", Help: "Ready messages.", Type: "gauge", Labels: map[string]string{"vhost": "/", "queue": `a"b`}, Value: 3},
		{Name: "warren_queue_ready", Help: "Ready messages.", Type: "gauge", Labels: map[string]string{"vhost": "/", "queue": "c"}, Value: 0.5},
		{Name: "warren_fsyncs_total", Help: "Fsyncs.", Type: "counter", Value: 12},
	})
	want := `# HELP warren_queue_ready Ready messages.
# TYPE warren_queue_ready gauge
warren_queue_ready{queue="a\"b",vhost="/"} 3
warren_queue_ready{queue="c",vhost="/"} 0.5
# HELP warren_fsyncs_total Fsyncs.
# TYPE warren_fsyncs_total counter
warren_fsyncs_total 12
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderSummary(t *testing.T) {
	got := Render([]Sample{
		{Name: "warren_tier_upload_seconds_sum", Help: "Put latency.", Type: "summary", Value: 1.5},
		{Name: "warren_tier_upload_seconds_count", Help: "Put latency.", Type: "summary", Value: 3},
	})
	want := `# HELP warren_tier_upload_seconds Put latency.
# TYPE warren_tier_upload_seconds summary
warren_tier_upload_seconds_sum 1.5
warren_tier_upload_seconds_count 3
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestHandlerGathersPerRequest(t *testing.T) {
	n := 0.0
	h := Handler(func() []Sample { n++; return []Sample{{Name: "x", Help: "x", Type: "counter", Value: n}} })
	for want := 1; want <= 2; want++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		if !strings.HasSuffix(string(body), "x "+string(rune('0'+want))+"\n") {
			t.Fatalf("request %d: %q", want, body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Fatalf("content type %q", ct)
		}
	}
}
