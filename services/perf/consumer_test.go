package perf

import "testing"

// newTestConsumer returns a consumer with no connection, for record().
func newTestConsumer(producers int, since int64) *consumer {
	return &consumer{seen: newSeenSet(producers), since: since}
}

func TestConsumerRecord(t *testing.T) {
	const since = 1_000_000
	c := newTestConsumer(2, since)
	body := make([]byte, 32)
	steps := []struct {
		body        []byte
		redelivered bool
	}{
		{encoded(body, since+10, 0, 0), false},
		{encoded(body, since+10, 0, 1), false},
		{encoded(body, since+10, 0, 1), false}, // duplicate
		{encoded(body, since+10, 0, 0), true},  // redelivered duplicate
		{encoded(body, since-1, 1, 0), false},  // stamped before the run: foreign
		{encoded(body, since+10, 2, 0), false}, // no such producer: foreign
		{body[:15], false},                     // too short: foreign
		{encoded(body, since+10, 1, 0), false},
	}
	for _, s := range steps {
		c.record(s.body, s.redelivered, since+1010)
	}
	got := [4]uint64{c.consumed.Load(), c.duplicates.Load(), c.dupRedelivered.Load(), c.foreign.Load()}
	if want := [4]uint64{8, 1, 1, 3}; got != want {
		t.Errorf("consumed, duplicates, redelivered, foreign = %v, want %v", got, want)
	}
	var s histSnapshot
	c.hist.snapshotInto(&s)
	if s.n != 5 || s.max != 1000 {
		t.Errorf("latency samples %d max %d, want 5 of 1000 ns", s.n, s.max)
	}
	if c.last.Load() != since+1010 {
		t.Errorf("last delivery %d", c.last.Load())
	}
}

func encoded(b []byte, sent int64, producer int, seq uint64) []byte {
	b = append([]byte(nil), b...)
	encodeBody(b, sent, producer, seq)
	return b
}

func TestConsumerRecordDoesNotAllocate(t *testing.T) {
	c := newTestConsumer(1, 0)
	body := make([]byte, 16)
	var seq uint64
	a := testing.AllocsPerRun(1000, func() {
		encodeBody(body, 5, 0, seq)
		seq++
		c.record(body, false, 10)
	})
	if a != 0 {
		t.Errorf("record allocates %v times per message", a)
	}
}

// BenchmarkConsumerRecord is the per-delivery cost this tool adds on top
// of the client library.
func BenchmarkConsumerRecord(b *testing.B) {
	c := newTestConsumer(1, 0)
	body := make([]byte, 16)
	var seq uint64
	for b.Loop() {
		encodeBody(body, unixNanos(), 0, seq)
		c.record(body, false, unixNanos())
		seq++
	}
}
