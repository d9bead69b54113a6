package perf

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// The pacer tests drive a simulated clock: the caller "sleeps" by setting
// now to the due time (plus some lateness), so no test depends on timing.

// TestPacerNoDrift: a caller that wakes exactly on time gets token n at
// start + n/rate, with no accumulated rounding, at rates that are not a
// whole number of nanoseconds apart.
func TestPacerNoDrift(t *testing.T) {
	for _, rate := range []float64{1, 3, 333.333, 10000, 1e6 / 7} {
		const start = int64(1_700_000_000_000_000_000)
		p := newPacer(start, rate)
		now := start
		const n = 2_000_000
		exactRate := new(big.Rat).SetFloat64(rate)
		for k := range int64(n) {
			due := p.next(now)
			if k%1000 == 0 || k == n-1 {
				// exact = k * 1e9 / rate, in rationals.
				exact := new(big.Rat).Quo(new(big.Rat).SetInt64(k*1e9), exactRate)
				off := new(big.Rat).Sub(new(big.Rat).SetInt64(due-start), exact)
				if f, _ := off.Float64(); math.Abs(f) > 1 {
					t.Fatalf("rate %v: token %d due %.3f ns off schedule", rate, k, f)
				}
			}
			now = max(now, due)
		}
		// n tokens span (n-1)/rate seconds.
		elapsed := float64(now-start) / 1e9
		if got := float64(n-1) / elapsed; math.Abs(got-rate) > rate*1e-9 {
			t.Errorf("rate %v: achieved %v", rate, got)
		}
	}
}

// TestPacerLateWakeups: a caller that always wakes late, by up to a few
// intervals (less than the catch-up window), still gets the full rate:
// lateness is made up by sending early-due tokens back to back.
func TestPacerLateWakeups(t *testing.T) {
	const rate = 10000.0
	const interval = int64(1e9 / rate)
	rng := rand.New(rand.NewPCG(7, 8))
	p := newPacer(0, rate)
	now, lastDue := int64(0), int64(0)
	const n = 1_000_000
	for range n {
		lastDue = p.next(now)
		if lastDue > now {
			now = lastDue + rng.Int64N(5*interval) // overslept
		}
	}
	// Had any lateness been lost, token n-1 would be due later than
	// (n-1)/rate, or tokens would have been forfeited.
	if want := (n - 1) * interval; lastDue != want || p.n != n {
		t.Errorf("token %d due at %d ns, want %d (%d tokens forfeited)", n-1, lastDue, want, p.n-n)
	}
}

// TestPacerStallForfeits: after a stall far longer than the catch-up
// window, exactly burst tokens are available at once; then the schedule
// resumes at the configured spacing.
func TestPacerStallForfeits(t *testing.T) {
	const rate = 1000.0
	p := newPacer(0, rate)
	if want := int64(rate * pacerCatchUp.Seconds()); p.burst != want {
		t.Fatalf("burst = %d, want %d", p.burst, want)
	}
	now := int64(10 * time.Second) // nothing taken for 10 s
	immediate := 0
	for p.next(now) <= now {
		immediate++
	}
	if immediate != int(p.burst) {
		t.Errorf("%d tokens at once after a stall, want burst %d", immediate, p.burst)
	}
	a, b := p.next(now), p.next(now)
	if gap := b - a; gap != int64(1e9/rate) {
		t.Errorf("spacing after the burst %d ns, want %d", gap, int64(1e9/rate))
	}
}

func TestPacerSlowRateBurst(t *testing.T) {
	p := newPacer(0, 0.5) // one token per 2 s
	if p.burst != 1 {
		t.Fatalf("burst = %d, want at least 1", p.burst)
	}
	if due := p.next(0); due != 0 {
		t.Errorf("first token due %d, want at start", due)
	}
	if due := p.next(0); due != 2e9 {
		t.Errorf("second token due %d, want 2 s", due)
	}
}
