package perf

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// The latency histogram is log-linear: values below 128 ns get one bucket
// each, above that every power of two is split into histSub equal buckets.
// A bucket [low, low+w) has w <= low/64, and a quantile is reported as the
// bucket's midpoint, so a reported value is within 1/128 (0.8 %) of the
// true sample. Memory is fixed: histSlots counters (about 16 KiB) whatever
// the number of samples.
const (
	histSubBits = 6
	histSub     = 1 << histSubBits // linear buckets per power of two
	// histMaxBits bounds the tracked range to [0, 2^36 ns) ≈ [0, 68.7 s),
	// which covers the 60 s any sane end-to-end latency stays under.
	histMaxBits = 36
	// histBuckets is the number of in-range buckets: the linear buckets
	// [0, 128) plus histSub for each exponent from 7 to histMaxBits-1.
	histBuckets = (histMaxBits - histSubBits + 1) * histSub
	// histOverflow counts samples >= 2^histMaxBits ns; their quantile is
	// reported as the exact maximum.
	histOverflow = histBuckets
	histSlots    = histBuckets + 1
)

// bucketIndex maps a non-negative nanosecond value to its bucket.
func bucketIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	if v >= 1<<histMaxBits {
		return histOverflow
	}
	shift := bits.Len64(v) - histSubBits - 1
	return shift<<histSubBits + int(v>>shift)
}

// bucketBounds returns the lowest value of in-range bucket i and its width.
func bucketBounds(i int) (low, width uint64) {
	if i < 2*histSub {
		return uint64(i), 1
	}
	shift := i>>histSubBits - 1
	mantissa := uint64(i&(histSub-1) | histSub)
	return mantissa << shift, 1 << shift
}

// Histogram records latencies in nanoseconds. One goroutine writes it
// (Record); any goroutine may read it at the same time (snapshotInto)
// without locks: every counter is an atomic, and a reader sees each
// counter at some point during its read. Counters only grow, so the
// difference of two snapshots is the histogram of the interval between.
type Histogram struct {
	counts [histSlots]atomic.Uint64
	max    atomic.Int64 // largest sample recorded; written by the owner only
}

// Record adds one sample. Negative samples (a clock that went backwards)
// are recorded as 0.
func (h *Histogram) Record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketIndex(uint64(ns))].Add(1)
	if ns > h.max.Load() {
		h.max.Store(ns)
	}
}

// histSnapshot is a plain copy of a Histogram that can be merged,
// subtracted and queried.
type histSnapshot struct {
	counts [histSlots]uint64
	n      uint64
	max    int64
}

// snapshotInto adds h's current counts to s.
func (h *Histogram) snapshotInto(s *histSnapshot) {
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] += c
		s.n += c
	}
	s.max = max(s.max, h.max.Load())
}

// merge adds o into s.
func (s *histSnapshot) merge(o *histSnapshot) {
	for i, c := range o.counts {
		s.counts[i] += c
	}
	s.n += o.n
	s.max = max(s.max, o.max)
}

// since returns the samples recorded between prev and s, both snapshots of
// the same histograms. The interval's max is not known; the result keeps
// s.max as an upper bound.
func (s *histSnapshot) since(prev *histSnapshot) histSnapshot {
	d := histSnapshot{max: s.max}
	for i, c := range s.counts {
		d.counts[i] = c - prev.counts[i]
		d.n += d.counts[i]
	}
	return d
}

// quantile returns the nearest-rank q-quantile in nanoseconds (the sample
// at rank ceil(q*n) in sorted order), within 1/128 of it; 0 when empty.
func (s *histSnapshot) quantile(q float64) int64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	rank = min(max(rank, 1), s.n)
	var seen uint64
	for i, c := range s.counts[:histBuckets] {
		if seen += c; seen >= rank {
			low, width := bucketBounds(i)
			return min(int64(low+width/2), s.max)
		}
	}
	return s.max // the rank falls in the overflow bucket
}
