package perf

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestBucketBounds checks that every value lands in a bucket that contains
// it, that buckets are no wider than 1/64 of their low end, and that the
// index grows with the value.
func TestBucketBounds(t *testing.T) {
	var values []uint64
	for v := range uint64(5000) {
		values = append(values, v)
	}
	for e := 7; e <= histMaxBits; e++ {
		values = append(values, 1<<e-1, 1<<e, 1<<e+1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		values = append(values, rng.Uint64N(1<<histMaxBits))
	}
	slices.Sort(values)
	prev := 0
	for _, v := range values {
		i := bucketIndex(v)
		if v >= 1<<histMaxBits {
			if i != histOverflow {
				t.Fatalf("bucketIndex(%d) = %d, want overflow %d", v, i, histOverflow)
			}
			continue
		}
		if i < prev || i >= histBuckets {
			t.Fatalf("bucketIndex(%d) = %d: out of order (prev %d) or range [0,%d)", v, i, prev, histBuckets)
		}
		prev = i
		low, width := bucketBounds(i)
		if v < low || v >= low+width {
			t.Fatalf("value %d outside its bucket %d = [%d, %d)", v, i, low, low+width)
		}
		if width > 1 && width > low/histSub {
			t.Fatalf("bucket %d = [%d, +%d) wider than 1/%d of its low end", i, low, width, histSub)
		}
	}
	if got := bucketIndex(1<<histMaxBits - 1); got != histBuckets-1 {
		t.Errorf("largest in-range value in bucket %d, want %d", got, histBuckets-1)
	}
	if got := bucketIndex(math.MaxUint64); got != histOverflow {
		t.Errorf("MaxUint64 in bucket %d, want overflow", got)
	}
	if uint64(60*time.Second) >= 1<<histMaxBits {
		t.Errorf("range 2^%d ns does not cover 60 s", histMaxBits)
	}
}

// TestQuantileMatchesOracle compares the histogram's quantiles with the
// nearest-rank quantiles of the sorted samples.
func TestQuantileMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dists := []struct {
		name string
		gen  func() int64
	}{
		{"constant", func() int64 { return 250_000 }},
		{"tiny", func() int64 { return rng.Int64N(200) }},
		{"uniform-1ms", func() int64 { return rng.Int64N(1_000_000) }},
		{"log-uniform-1us-60s", func() int64 { return int64(math.Exp(rng.Float64()*math.Log(6e4)) * 1e3) }},
		{"exponential-2ms", func() int64 { return int64(rng.ExpFloat64() * 2e6) }},
		{"bimodal", func() int64 {
			if rng.IntN(100) == 0 {
				return 5e8 + rng.Int64N(1e8)
			}
			return 1e5 + rng.Int64N(1e4)
		}},
	}
	for _, d := range dists {
		for _, n := range []int{1, 7, 1000, 100_000} {
			samples := make([]int64, n)
			var h Histogram
			for i := range samples {
				samples[i] = d.gen()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			var s histSnapshot
			h.snapshotInto(&s)
			for _, q := range []float64{0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1} {
				rank := max(int(math.Ceil(q*float64(n))), 1)
				want := samples[rank-1]
				got := s.quantile(q)
				if diff := math.Abs(float64(got - want)); diff > float64(want)/128 {
					t.Errorf("%s n=%d q=%v: got %d, want %d (error %.2f%%)", d.name, n, q, got, want, 100*diff/float64(want))
				}
			}
			if s.max != samples[n-1] || s.n != uint64(n) {
				t.Errorf("%s n=%d: max %d n %d, want %d %d", d.name, n, s.max, s.n, samples[n-1], n)
			}
		}
	}
}

func TestRecordOutOfRange(t *testing.T) {
	var h Histogram
	h.Record(-5) // a clock step backwards
	h.Record(int64(100 * time.Second))
	var s histSnapshot
	h.snapshotInto(&s)
	if got := s.quantile(0.5); got != 0 {
		t.Errorf("p50 = %d, want 0 for a negative sample", got)
	}
	if got := s.quantile(1); got != int64(100*time.Second) {
		t.Errorf("p100 = %d, want the exact max of an overflowing sample", got)
	}
	if got := (&histSnapshot{}).quantile(0.99); got != 0 {
		t.Errorf("empty p99 = %d, want 0", got)
	}
}

// TestSnapshotArithmetic checks merge and since against recording the same
// samples into one histogram.
func TestSnapshotArithmetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var a, b, all Histogram
	var before histSnapshot
	for i := range 20000 {
		v := rng.Int64N(1e9)
		if i == 10000 {
			a.snapshotInto(&before)
		}
		if i%3 == 0 {
			b.Record(v)
		} else {
			a.Record(v)
			if i >= 10000 {
				all.Record(v)
			}
		}
	}
	var sa, sb, sAll histSnapshot
	a.snapshotInto(&sa)
	b.snapshotInto(&sb)
	all.snapshotInto(&sAll)
	interval := sa.since(&before)
	if interval.counts != sAll.counts || interval.n != sAll.n {
		t.Errorf("since: counts differ from the interval's own histogram")
	}
	merged := sa
	merged.merge(&sb)
	var direct histSnapshot
	a.snapshotInto(&direct)
	b.snapshotInto(&direct)
	if merged.counts != direct.counts || merged.n != direct.n || merged.max != direct.max {
		t.Errorf("merge differs from snapshotting both into one")
	}
}

// TestConcurrentSnapshot reads while the owner writes (run with -race);
// counts seen must never go down and end at the number recorded.
func TestConcurrentSnapshot(t *testing.T) {
	var h Histogram
	const n = 200000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			h.Record(int64(i))
		}
	})
	var last uint64
	for range 50 {
		var s histSnapshot
		h.snapshotInto(&s)
		if s.n < last {
			t.Fatalf("snapshot count went down: %d < %d", s.n, last)
		}
		last = s.n
	}
	wg.Wait()
	var s histSnapshot
	h.snapshotInto(&s)
	if s.n != n || s.max != n-1 {
		t.Fatalf("n = %d max = %d, want %d %d", s.n, s.max, n, n-1)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if a := testing.AllocsPerRun(1000, func() { h.Record(123456) }); a != 0 {
		t.Errorf("Record allocates %v times", a)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	v := int64(1)
	for b.Loop() {
		h.Record(v)
		v = (v*7 + 13) & (1<<36 - 1)
	}
}

func BenchmarkQuantile(b *testing.B) {
	var h Histogram
	for i := range 100000 {
		h.Record(int64(i) * 1000)
	}
	var s histSnapshot
	h.snapshotInto(&s)
	for b.Loop() {
		s.quantile(0.99)
	}
}
