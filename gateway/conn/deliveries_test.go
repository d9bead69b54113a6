package conn

import (
	"slices"
	"testing"
)

func tags(dls []delivery) []uint64 {
	out := make([]uint64, len(dls))
	for i, d := range dls {
		out[i] = d.tag
	}
	return out
}

func TestDeliveriesLedger(t *testing.T) {
	var d deliveries
	d.init()
	for i := 0; i < 6; i++ {
		d.add(delivery{})
	}
	if got, ok := d.take(3, false); !ok || !slices.Equal(tags(got), []uint64{3}) {
		t.Fatalf("single ack of 3: %v %v", tags(got), ok)
	}
	if _, ok := d.take(3, false); ok {
		t.Fatal("double ack of 3 accepted; RabbitMQ answers 406 unknown delivery tag")
	}
	if _, ok := d.take(99, false); ok {
		t.Fatal("unknown tag accepted")
	}
	if got, _ := d.take(4, true); !slices.Equal(tags(got), []uint64{1, 2, 4}) {
		t.Fatalf("multiple up to 4: %v", tags(got))
	}
	if d.oldest() == 0 && d.open != 2 {
		t.Fatalf("open = %d, want 2", d.open)
	}
	skipped := d.skipTag()
	if skipped != 7 {
		t.Fatalf("no-ack delivery tag = %d, want 7", skipped)
	}
	if got := tags(d.all()); !slices.Equal(got, []uint64{5, 6}) {
		t.Fatalf("all: %v", got)
	}
	if d.open != 0 {
		t.Fatalf("open = %d after all", d.open)
	}
}

func TestDeliveriesRestoreAfterRollback(t *testing.T) {
	var d deliveries
	d.init()
	for i := 0; i < 4; i++ {
		d.add(delivery{at: int64(i + 1)})
	}
	taken, _ := d.take(2, true)
	d.restore(taken)
	if got := tags(d.all()); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
		t.Fatalf("after restore: %v", got)
	}
}

func TestDeliveriesCompactKeepsLookups(t *testing.T) {
	var d deliveries
	d.init()
	for i := 0; i < 5000; i++ {
		d.add(delivery{})
	}
	for tag := uint64(1); tag <= 4000; tag++ {
		if _, ok := d.take(tag, false); !ok {
			t.Fatalf("ack %d refused", tag)
		}
	}
	if _, ok := d.take(4500, false); !ok {
		t.Fatal("lookup after compaction failed")
	}
	if d.open != 999 {
		t.Fatalf("open = %d, want 999", d.open)
	}
}

// RabbitMQ refuses a multiple ack whose tag is not outstanding (406), and
// settles nothing when it does.
func TestMultipleSettleNeedsAnOutstandingTag(t *testing.T) {
	var d deliveries
	d.init()
	for i := 0; i < 3; i++ {
		d.add(delivery{})
	}
	if _, ok := d.take(2, true); !ok {
		t.Fatal("multiple ack of an outstanding tag refused")
	}
	if _, ok := d.take(2, true); ok {
		t.Fatal("second multiple ack of tag 2 accepted")
	}
	if _, ok := d.take(9, true); ok {
		t.Fatal("multiple ack of a never-delivered tag accepted")
	}
	if d.open != 1 {
		t.Fatalf("refused settles changed the ledger: open = %d, want 1", d.open)
	}
	if got, ok := d.take(0, true); !ok || len(got) != 1 {
		t.Fatalf("multiple with tag 0 (everything): %d, %v", len(got), ok)
	}
}
