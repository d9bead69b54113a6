package conn

import (
	"testing"

	"github.com/warrenmq/warren/gateway/wire"
)

func TestGateShutsAndOpens(t *testing.T) {
	g := NewGate()
	if r, _ := g.state(); r != "" {
		t.Fatalf("new gate shut: %q", r)
	}
	g.Set("low on disk")
	r, open := g.state()
	if r != "low on disk" {
		t.Fatalf("reason %q", r)
	}
	select {
	case <-open:
		t.Fatal("open channel closed while the gate is shut")
	default:
	}
	g.Set("low on disk & memory") // a second alarm keeps it shut, same waiters
	if _, again := g.state(); again != open {
		t.Fatal("a changed reason replaced the waiters' channel")
	}
	g.Set("")
	select {
	case <-open:
	default:
		t.Fatal("waiters not released when the gate opened")
	}
}

func TestIsPublish(t *testing.T) {
	pub, _ := (&wire.BasicPublish{RoutingKey: "k"}).Append(nil)
	get, _ := (&wire.BasicGet{Queue: "q"}).Append(nil)
	if !isPublish(wire.Frame{Type: wire.FrameMethod, Payload: pub}) {
		t.Error("basic.publish not recognised")
	}
	if isPublish(wire.Frame{Type: wire.FrameMethod, Payload: get}) || isPublish(wire.Frame{Type: wire.FrameBody, Payload: pub}) {
		t.Error("non-publish frame taken for basic.publish")
	}
}
