package perf

import (
	"fmt"
	"time"
)

// timed runs producers and consumers together for --duration. Rates count
// what happened within the window; afterwards producers collect their
// confirms and consumers drain what is in flight for up to drainGrace.
func (r *run) timed(res *Result) {
	if err := r.startConsumers(); err != nil {
		r.fail(err)
		return
	}
	start := time.Now()
	r.startProducers(func(int) uint64 { return 0 }, r.stop)
	stopProgress := r.startProgress(start, "")
	defer stopProgress()
	r.sleep(r.cfg.Duration)
	window := time.Since(start).Seconds()
	atEnd := r.totals()
	res.DurationS = round(window, 3)
	res.PublishRate = rate(atEnd.published, window)
	res.ConsumeRate = rate(atEnd.consumed, window)
	r.stopOnce.Do(func() { close(r.stop) })
	if !r.waitProducers(stopTimeout) {
		r.fail(fmt.Errorf("producers did not finish within %v of the end: %d publishes unconfirmed, or a publish is blocked (broker alarm?)", stopTimeout, r.totals().unconfirmed))
		return
	}
	if len(r.consumers) > 0 {
		r.drain()
	}
}

// drain waits up to drainGrace for the consumers to receive every message
// that should arrive.
func (r *run) drain() {
	deadline := time.Now().Add(drainGrace)
	for time.Now().Before(deadline) {
		t := r.totals()
		if t.consumed >= t.published-t.returned-t.nacked {
			return
		}
		if !r.sleep(pollInterval) {
			return
		}
	}
}

// backlog publishes --backlog messages with no consumer, waits for the
// last confirm, then starts the consumers and waits until each message
// that was confirmed (and not returned) has been consumed.
func (r *run) backlog(res *Result) {
	stopProgress := r.startProgress(time.Now(), "publish")
	start := unixNanos()
	r.startProducers(r.quota, r.abort)
	moved := func(t totals) uint64 { return t.published + t.confirmed + t.nacked }
	if !r.await("publish", moved, func() bool { return r.waitProducers(0) }) {
		stopProgress()
		return
	}
	r.workers.Wait()
	published := unixNanos()
	stopProgress()
	target := r.totals()
	want := target.confirmed - target.returned

	stopProgress = r.startProgress(time.Now(), "drain")
	defer stopProgress()
	drainStart := unixNanos()
	if err := r.startConsumers(); err != nil {
		r.fail(err)
		return
	}
	drained := r.await("drain", func(t totals) uint64 { return t.consumed },
		func() bool { return r.totals().consumed >= want })
	drainEnd := max(r.lastDelivery(), drainStart) // no delivery at all if want is 0
	publishS := float64(published-start) / 1e9
	res.PublishS = ptr(round(publishS, 3))
	res.PublishRate = rate(target.published, publishS)
	if !drained {
		return
	}
	drainS := float64(drainEnd-drainStart) / 1e9
	res.DrainS = ptr(round(drainS, 3))
	res.DurationS = round(publishS+drainS, 3)
	res.ConsumeRate = rate(r.totals().consumed, drainS)
	res.DrainRate = ptr(res.ConsumeRate)
}

// quota splits --backlog across producers; the first ones take the remainder.
func (r *run) quota(i int) uint64 {
	n, p := r.cfg.Backlog, int64(r.cfg.Producers)
	q := n / p
	if int64(i) < n%p {
		q++
	}
	return uint64(q)
}

// waitProducers waits up to timeout for every producer goroutine to
// return; false on timeout. A zero timeout only polls.
func (r *run) waitProducers(timeout time.Duration) bool {
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-r.producersDone:
			return true
		case <-t.C:
			return false
		}
	}
	select {
	case <-r.producersDone:
		return true
	default:
		return false
	}
}

// await polls until done() or the run aborts; it fails the run if the
// counter picked by progress does not move for stallTimeout. It reports
// whether done() was reached.
func (r *run) await(phase string, progress func(totals) uint64, done func() bool) bool {
	last, lastMove := progress(r.totals()), time.Now()
	for !done() {
		if !r.sleep(pollInterval) {
			return false
		}
		t := r.totals()
		if n := progress(t); n != last {
			last, lastMove = n, time.Now()
			continue
		}
		if time.Since(lastMove) > stallTimeout {
			r.fail(fmt.Errorf("backlog %s stalled: no progress for %v (published %d, confirmed %d, consumed %d)",
				phase, stallTimeout, t.published, t.confirmed, t.consumed))
			return false
		}
	}
	return true
}

// lastDelivery returns the latest delivery time over all consumers.
func (r *run) lastDelivery() int64 {
	var last int64
	for _, c := range r.consumers {
		last = max(last, c.last.Load())
	}
	return last
}
