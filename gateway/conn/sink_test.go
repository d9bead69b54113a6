package conn

import (
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// Deliveries that arrive before consume-ok is written wait in the consumer,
// so they are copied: the session reuses the buffer they came in once
// Deliver returns.
func TestDeliverBeforeConsumeOkKeepsItsOwnCopy(t *testing.T) {
	s := &nodeSession{}
	ch := &channel{consumers: map[string]*consumer{}}
	s.ch = ch
	cons := &consumer{tag: "c", sess: s}
	ch.consumers["c"] = cons
	body, props := []byte("hello"), []byte{0, 0}
	batch := []storage.Delivery{{Tag: "c", ID: 1, Msg: &storage.Message{Body: body, Properties: props}}}
	s.Deliver(batch)
	copy(body, "XXXXX") // the session's next receive overwrites its buffer
	props[0] = 9
	if len(cons.pending) != 1 {
		t.Fatalf("%d pending deliveries, want 1", len(cons.pending))
	}
	if m := cons.pending[0].Msg; string(m.Body) != "hello" || m.Properties[0] != 0 || m == batch[0].Msg {
		t.Fatalf("pending delivery shares the session's buffer: body %q properties %v", m.Body, m.Properties)
	}
}
