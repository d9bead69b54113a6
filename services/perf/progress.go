package perf

import (
	"fmt"
	"strings"
	"time"
)

// totals is a snapshot of every counter of the run.
type totals struct {
	published, confirmed, nacked, returned, unconfirmed uint64
	consumed, duplicates, dupRedelivered, foreign       uint64
}

// totals sums the counters of all producers and consumers. Each counter is
// read atomically, not all of them at one instant; that is good enough for
// a per-second report and exact once the goroutines have stopped. Messages
// consumed with a sequence past their producer's published count are
// counted as foreign only then (a consumer may see a message before its
// producer has counted it).
func (r *run) totals() totals {
	var t totals
	for _, p := range r.producers {
		t.published += p.published.Load()
		t.confirmed += p.confirmed.Load()
		t.nacked += p.nacked.Load()
		t.returned += p.returned.Load()
		if p.window != nil {
			t.unconfirmed += p.unconfirmed()
		}
	}
	for _, c := range r.consumers {
		t.consumed += c.consumed.Load()
		t.duplicates += c.duplicates.Load()
		t.dupRedelivered += c.dupRedelivered.Load()
		t.foreign += c.foreign.Load()
	}
	if r.isClosing() {
		for i, p := range r.producers {
			t.foreign += r.seen.countFrom(i, p.published.Load())
		}
	}
	return t
}

// latency merges the consumers' histograms.
func (r *run) latency() *histSnapshot {
	s := new(histSnapshot)
	for _, c := range r.consumers {
		c.hist.snapshotInto(s)
	}
	return s
}

// blocked returns the reason a producer's connection is blocked by the
// broker (connection.blocked), or "".
func (r *run) blocked() string {
	for _, p := range r.producers {
		if why := p.cl.blocked.Load(); why != nil {
			return *why
		}
	}
	return ""
}

func (r *run) isClosing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.closing
}

// startProgress writes a line each second to the progress stream until the
// returned func is called (which waits for the writer to finish). phase,
// if not empty, prefixes each line.
func (r *run) startProgress(start time.Time, phase string) (stop func()) {
	if r.progress == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prev, prevLat, prevAt := r.totals(), r.latency(), time.Now()
		for {
			select {
			case <-tick.C:
			case <-quit:
				return
			}
			cur, curLat, now := r.totals(), r.latency(), time.Now()
			lat := curLat.since(prevLat)
			fmt.Fprintln(r.progress, progressLine(phase, now.Sub(start), now.Sub(prevAt), &prev, &cur, &lat, r.blocked()))
			prev, prevLat, prevAt = cur, curLat, now
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// progressLine formats one second of the run: rates over interval, and
// the latency of the messages consumed in it.
func progressLine(phase string, elapsed, interval time.Duration, prev, cur *totals, lat *histSnapshot, blocked string) string {
	secs := interval.Seconds()
	var b strings.Builder
	if phase != "" {
		b.WriteString(phase + ": ")
	}
	fmt.Fprintf(&b, "time %ds, sent %.0f msg/s, confirmed %.0f msg/s, nacked %d, returned %d, received %.0f msg/s, latency p50/p99 ",
		int(elapsed.Round(time.Second).Seconds()),
		rate(cur.published-prev.published, secs), rate(cur.confirmed-prev.confirmed, secs),
		cur.nacked-prev.nacked, cur.returned-prev.returned, rate(cur.consumed-prev.consumed, secs))
	if lat.n == 0 {
		b.WriteString("-/- ms")
	} else {
		fmt.Fprintf(&b, "%.3f/%.3f ms", millis(lat.quantile(0.5)), millis(lat.quantile(0.99)))
	}
	if dups := cur.duplicates - prev.duplicates; dups > 0 {
		fmt.Fprintf(&b, ", DUPLICATES %d", dups)
	}
	if blocked != "" {
		fmt.Fprintf(&b, ", blocked by broker: %s", blocked)
	}
	return b.String()
}
