package perf

import "time"

// pacerCatchUp is how far behind schedule a producer may fall and still
// make the time up with back-to-back sends. Being late by less than this
// (a long sleep, a slow publish) costs no throughput; tokens older than it
// are forfeited, so a long stall does not end in an unbounded burst.
const pacerCatchUp = 100 * time.Millisecond

// pacer is the token bucket of one rate-limited producer, written as a
// schedule: token n becomes available at start + n/rate. Each due time is
// computed from n, not by adding intervals, so rounding never accumulates
// and the long-run rate is exact however late the caller wakes. The bucket
// holds at most burst tokens. Not safe for concurrent use: each producer
// owns one.
type pacer struct {
	start int64   // ns on the caller's clock when token 0 is available
	rate  float64 // tokens per second
	burst int64   // most tokens in hand after a stall, at least 1
	n     int64   // tokens taken so far
}

// newPacer returns a pacer for rate tokens per second (rate > 0) starting
// at start (ns).
func newPacer(start int64, rate float64) *pacer {
	burst := max(int64(rate*pacerCatchUp.Seconds()), 1)
	return &pacer{start: start, rate: rate, burst: burst}
}

// next takes a token and returns the time (ns, same clock as now) at which
// it may be spent; the caller waits until then if that is later than now.
func (p *pacer) next(now int64) int64 {
	if now > p.start {
		avail := int64(float64(now-p.start)*p.rate/1e9) + 1 // tokens 0..avail-1 are due
		if avail-p.n > p.burst {
			p.n = avail - p.burst
		}
	}
	due := p.due(p.n)
	p.n++
	return due
}

// due returns when token n becomes available: within 1 ns of the exact
// start + n/rate, for any n, since float64 carries 15 digits.
func (p *pacer) due(n int64) int64 {
	return p.start + int64(float64(n)*1e9/p.rate)
}
