package node

import (
	"testing"
	"time"

	"github.com/warrenmq/warren/api/storage"
)

// TestMessageRates: a queue's rates are its events of the last complete
// 5 s interval, per second, whatever the moment and number of reads.
func TestMessageRates(t *testing.T) {
	clock := newFakeClock() // at the start of an interval
	n, _ := testNode(t, Options{Clock: clock})
	mustCreate(t, n, spec(1, "work"))
	publish(t, n, 1, false, seqBodies("m", 10)...)
	want := func(what string, c storage.MessageCounts, r storage.MessageRates) {
		t.Helper()
		for range 2 { // a second read in the interval sees the same
			st, err := n.Stats(bg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if st.Counts != c || st.Rates != r {
				t.Fatalf("%s: counts %+v rates %+v, want %+v %+v", what, st.Counts, st.Rates, c, r)
			}
		}
	}
	want("first interval", storage.MessageCounts{Publish: 10}, storage.MessageRates{})

	clock.Advance(4999 * time.Millisecond)
	s, sk := openSession(t, n)
	if err := s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Unlimited: true}); err != nil {
		t.Fatal(err)
	}
	ds := sk.wait(t, 10)
	want("deliveries in the first interval", storage.MessageCounts{Publish: 10, Deliver: 10}, storage.MessageRates{})

	clock.Advance(time.Millisecond)
	if err := s.Settle(settleAll(ds[:5], storage.Ack), nil); err != nil {
		t.Fatal(err)
	}
	syncShards(t, n)
	want("second interval", storage.MessageCounts{Publish: 10, Deliver: 10, Ack: 5},
		storage.MessageRates{Publish: 2, Deliver: 2})

	clock.Advance(5 * time.Second)
	want("third interval", storage.MessageCounts{Publish: 10, Deliver: 10, Ack: 5}, storage.MessageRates{Ack: 1})

	// Events no read saw before their interval ended count in it.
	clock.Advance(time.Second)
	publish(t, n, 1, false, seqBodies("n", 5)...)
	clock.Advance(4 * time.Second)
	want("fourth interval", storage.MessageCounts{Publish: 15, Deliver: 15, Ack: 5}, storage.MessageRates{Publish: 1, Deliver: 1})

	clock.Advance(12 * time.Second)
	want("idle", storage.MessageCounts{Publish: 15, Deliver: 15, Ack: 5}, storage.MessageRates{})
}

// TestRateSampler: each rate is of the last complete interval before the
// observation, the events at an interval's first ms belonging to it.
func TestRateSampler(t *testing.T) {
	var r rateSampler
	for _, step := range []struct {
		at   int64
		gets uint64
		want float64
	}{
		{0, 0, 0},
		{4000, 10, 0},
		{5000, 10, 2},      // 10 in [0, 5000)
		{10000, 20, 0},     // none in [5000, 10000); 10 at 10000
		{15000, 20, 2},     // 10 in [10000, 15000)
		{16000, 25, 2},     // the same interval is still the last complete one
		{40000, 25, 0},     // an idle gap: not an average over it
		{44999, 30, 0},     // 5 more, in the interval not complete yet
		{45000, 30, 1},     // 5 in [40000, 45000)
		{45000 - 1, 30, 0}, // the clock going back restarts the sampling
	} {
		r.observe(step.at, storage.MessageCounts{Get: step.gets})
		if got := r.rates(); got != (storage.MessageRates{Get: step.want}) {
			t.Fatalf("at %d with %d gets: %+v, want %v/s", step.at, step.gets, got, step.want)
		}
	}
}
