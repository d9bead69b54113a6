package perf

import (
	"sync"
	"testing"
)

func TestSeenMark(t *testing.T) {
	s := newSeenSet(2)
	steps := []struct {
		producer int
		seq      uint64
		want     markResult
	}{
		{0, 0, markFirst},
		{0, 0, markDuplicate},
		{1, 0, markFirst}, // producers are independent
		{0, 63, markFirst},
		{0, 64, markFirst}, // next word
		{0, seenChunkBits - 1, markFirst},
		{0, seenChunkBits, markFirst}, // next chunk
		{0, seenChunkBits, markDuplicate},
		{0, seenMaxSeq - 1, markFirst},
		{0, seenMaxSeq, markUntracked},
		{2, 0, markUnknownProducer},
		{-1, 0, markUnknownProducer},
	}
	for i, st := range steps {
		if got := s.mark(st.producer, st.seq); got != st.want {
			t.Errorf("step %d: mark(%d, %d) = %d, want %d", i, st.producer, st.seq, got, st.want)
		}
	}
	// Producer 0 has marks at 0, 63, 64, chunk-1, chunk, max-1.
	for _, c := range []struct{ from, want uint64 }{
		{0, 6}, {1, 5}, {64, 4}, {65, 3}, {seenChunkBits, 2}, {seenChunkBits + 1, 1}, {seenMaxSeq - 1, 1}, {seenMaxSeq, 0},
	} {
		if got := s.countFrom(0, c.from); got != c.want {
			t.Errorf("countFrom(0, %d) = %d, want %d", c.from, got, c.want)
		}
	}
}

// TestSeenConcurrent: consumers racing on the same sequences (run with
// -race) see each sequence first exactly once.
func TestSeenConcurrent(t *testing.T) {
	s := newSeenSet(1)
	const n = 3 * seenChunkBits / 2 // spans a chunk boundary
	const workers = 4
	firsts := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for seq := range uint64(n) {
				if s.mark(0, seq) == markFirst {
					firsts[w]++
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, f := range firsts {
		total += f
	}
	if total != n {
		t.Errorf("%d sequences marked first, want %d", total, n)
	}
	if got := s.countFrom(0, 0); got != n {
		t.Errorf("countFrom = %d, want %d", got, n)
	}
}

func BenchmarkSeenMark(b *testing.B) {
	s := newSeenSet(1)
	var seq uint64
	for b.Loop() {
		s.mark(0, seq)
		seq = (seq + 1) % seenMaxSeq
	}
}
