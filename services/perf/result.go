package perf

import (
	"fmt"
	"math"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Result is the one JSON line a run writes to stdout. Field names are a
// stable interface (scripts/bench.sh and dashboards parse them); add
// fields, never rename them.
//
//	uri_scheme_host         broker as scheme://host:port, no credentials or vhost
//	producers, consumers    connections of each kind (one channel each)
//	queues                  number of queues
//	size                    body bytes
//	persistent              delivery-mode 2 and durable queues
//	confirm                 confirm window per producer; 0 = no confirms
//	prefetch                basic.qos per consumer; 0 = unlimited
//	auto_ack                consumers used no-ack
//	multi_ack_every         manual ack with multiple=true every N messages
//	coalesce_writes         the client's writes were gathered into fewer syscalls
//	rate_limit              total publish rate asked for, msg/s; 0 = unlimited
//	duration_s              measured seconds: the run window, or in backlog
//	                        mode publish_s + drain_s
//	published               basic.publish calls that returned without error
//	confirmed, nacked       publisher confirms received (ack / nack)
//	returned                messages the broker returned as unroutable (all
//	                        publishes are mandatory)
//	consumed                deliveries received, including any after the
//	                        window while the consumers drained (up to 2 s)
//	duplicates              deliveries of a message consumed before, without
//	                        the redelivered flag (a broker bug)
//	duplicates_redelivered  the same with the redelivered flag (allowed)
//	unexpected              deliveries this run never published: short body,
//	                        stamped before the run, unknown producer, or a
//	                        sequence past the producer's published count
//	publish_rate            msg/s: published within the window / window; in
//	                        backlog mode published / publish_s
//	consume_rate            msg/s: consumed within the window / window; in
//	                        backlog mode consumed / drain_s
//	latency_p50_ms, latency_p99_ms, latency_max_ms
//	                        end-to-end latency (receive − send, one clock) of
//	                        all recorded deliveries; percentiles within 0.8 %
//	backlog                 messages in backlog mode; 0 otherwise
//	publish_s, drain_s      backlog mode: seconds from the first publish to the
//	                        last confirm, and from basic.consume to the last
//	                        delivery; null otherwise
//	drain_rate              backlog mode: consumed / drain_s; null otherwise
//	peak_rss_bytes          the broker's peak resident memory; this tool cannot
//	                        see the broker process and always writes null for a
//	                        harness to fill in
//	error                   why the run failed or "interrupted"; null on success
type Result struct {
	URISchemeHost         string   `json:"uri_scheme_host"`
	Producers             int      `json:"producers"`
	Consumers             int      `json:"consumers"`
	Queues                int      `json:"queues"`
	Size                  int      `json:"size"`
	Persistent            bool     `json:"persistent"`
	Confirm               int      `json:"confirm"`
	Prefetch              int      `json:"prefetch"`
	AutoAck               bool     `json:"auto_ack"`
	MultiAckEvery         int      `json:"multi_ack_every"`
	CoalesceWrites        bool     `json:"coalesce_writes"`
	RateLimit             float64  `json:"rate_limit"`
	DurationS             float64  `json:"duration_s"`
	Published             uint64   `json:"published"`
	Confirmed             uint64   `json:"confirmed"`
	Nacked                uint64   `json:"nacked"`
	Returned              uint64   `json:"returned"`
	Consumed              uint64   `json:"consumed"`
	Duplicates            uint64   `json:"duplicates"`
	DuplicatesRedelivered uint64   `json:"duplicates_redelivered"`
	Unexpected            uint64   `json:"unexpected"`
	PublishRate           float64  `json:"publish_rate"`
	ConsumeRate           float64  `json:"consume_rate"`
	LatencyP50Ms          float64  `json:"latency_p50_ms"`
	LatencyP99Ms          float64  `json:"latency_p99_ms"`
	LatencyMaxMs          float64  `json:"latency_max_ms"`
	Backlog               int64    `json:"backlog"`
	PublishS              *float64 `json:"publish_s"`
	DrainS                *float64 `json:"drain_s"`
	DrainRate             *float64 `json:"drain_rate"`
	PeakRSSBytes          *int64   `json:"peak_rss_bytes"`
	Error                 *string  `json:"error"`
}

// newResult fills in the settings of a run.
func newResult(cfg *Config) Result {
	return Result{
		URISchemeHost: schemeHost(cfg.URI),
		Producers:     cfg.Producers,
		Consumers:     cfg.Consumers,
		Queues:        cfg.Queues,
		Size:          cfg.Size,
		Persistent:    cfg.Persistent,
		Confirm:       cfg.Confirm,
		Prefetch:      cfg.Prefetch,
		AutoAck:       cfg.AutoAck,
		MultiAckEvery: cfg.MultiAckEvery, CoalesceWrites: cfg.CoalesceWrites,
		RateLimit: cfg.Rate,
		Backlog:   cfg.Backlog,
	}
}

// schemeHost strips credentials and vhost from an AMQP URI.
func schemeHost(uri string) string {
	u, err := amqp.ParseURI(uri)
	if err != nil {
		return "invalid"
	}
	return fmt.Sprintf("%s://%s:%d", u.Scheme, u.Host, u.Port)
}

// setCounts copies the final counters and latency into r.
func (r *Result) setCounts(t totals, lat *histSnapshot) {
	r.Published, r.Confirmed, r.Nacked, r.Returned = t.published, t.confirmed, t.nacked, t.returned
	r.Consumed, r.Duplicates, r.DuplicatesRedelivered = t.consumed, t.duplicates, t.dupRedelivered
	r.Unexpected = t.foreign
	r.LatencyP50Ms = millis(lat.quantile(0.50))
	r.LatencyP99Ms = millis(lat.quantile(0.99))
	r.LatencyMaxMs = millis(lat.max)
}

func millis(ns int64) float64 { return round(float64(ns)/1e6, 3) }

// rate returns n per second over seconds, 0 for an empty interval.
func rate(n uint64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return round(float64(n)/seconds, 1)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ptr[T any](v T) *T { return &v }
