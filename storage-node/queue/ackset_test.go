package queue

import (
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// Acks in delivery order, with a bounded window in flight, keep the
// unsettled set's memory bounded by the window, not by the messages ever
// delivered.
func TestUnsettledInOrderStaysBounded(t *testing.T) {
	var u unsettled
	const window, total = 100, 200_000
	for id := storage.MsgID(1); id <= total; id++ {
		u.add(id)
		if id > window && !u.remove(id-window) {
			t.Fatalf("id %d not unsettled", id-window)
		}
		if cap(u.ids) > 8*window {
			t.Fatalf("after %d messages the set holds room for %d IDs with %d in flight", id, cap(u.ids), u.len())
		}
	}
	if u.len() != window {
		t.Fatalf("%d unsettled, want %d", u.len(), window)
	}
}
