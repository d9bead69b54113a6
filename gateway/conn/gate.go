package conn

import (
	"sync"
	"sync/atomic"

	"github.com/warrenmq/warren/gateway/wire"
)

// Gate blocks publishing while storage is past its memory or disk budget,
// as RabbitMQ's resource alarms do: a connection that publishes while the
// gate is shut stops being read (TCP pushes back on the client) and, when the
// client asked for the connection.blocked capability, is told why.
// Connections that only consume keep flowing.
type Gate struct {
	shut   atomic.Bool // read without mu on every publish: the gate is open almost always
	mu     sync.Mutex
	reason string        // "" when open
	open   chan struct{} // closed when the gate opens
}

// NewGate returns an open gate.
func NewGate() *Gate {
	g := &Gate{open: make(chan struct{})}
	close(g.open)
	return g
}

// Set shuts the gate with a reason such as "low on disk", or opens it with "".
func (g *Gate) Set(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if (g.reason == "") == (reason == "") {
		g.reason = reason
		return
	}
	g.reason = reason
	g.shut.Store(reason != "")
	if reason == "" {
		close(g.open)
	} else {
		g.open = make(chan struct{})
	}
}

// state returns the reason the gate is shut ("" if open) and a channel
// closed once it opens.
func (g *Gate) state() (string, <-chan struct{}) {
	if !g.shut.Load() {
		return "", nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reason, g.open
}

// basicPublishID is the payload prefix of a basic.publish method frame.
var basicPublishID = [4]byte{0, 60, 0, 40}

// isPublish reports whether a frame is a basic.publish method.
func isPublish(f wire.Frame) bool {
	return f.Type == wire.FrameMethod && len(f.Payload) >= 4 && [4]byte(f.Payload[:4]) == basicPublishID
}

// waitGates holds a publish while the gateway's gate (storage alarms) or
// the instance's (its stored bytes quota) is shut. It reports false if the
// connection ended meanwhile. Runs on the reader, without dispatchMu.
func (c *Conn) waitGates() bool {
	return c.waitGate(c.cfg.Gate) && c.waitGate(c.storeGate)
}

func (c *Conn) waitGate(g *Gate) bool {
	if g == nil {
		return true
	}
	reason, open := g.state()
	if reason == "" {
		return true
	}
	notify, _ := c.clientCaps["connection.blocked"].(bool)
	if notify {
		_ = c.out.method(0, &wire.ConnectionBlocked{Reason: reason})
	}
	// Not reading means not seeing the client's heartbeats; like RabbitMQ
	// (rabbit_heartbeat:pause_monitor), don't count silence while blocked.
	c.gateWaiting.Store(true)
	defer c.gateWaiting.Store(false)
	select {
	case <-open:
	case <-c.stopping:
		return false
	}
	if notify {
		_ = c.out.method(0, &wire.ConnectionUnblocked{})
	}
	return true
}
