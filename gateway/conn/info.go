package conn

import (
	"net"
	"time"

	"github.com/warrenmq/warren/api/amqp"
)

// Info is what the management API shows of an open connection.
type Info struct {
	ID         string
	Identity   Identity
	Peer       net.Addr
	Local      net.Addr
	Channels   int
	FrameMax   uint32
	ChannelMax uint16
	Heartbeat  time.Duration
	// ClientCapabilities are the capabilities the client announced; Warren
	// keeps no other client property.
	ClientCapabilities amqp.Table
}

// Info describes the connection once connection.open has succeeded and
// until it starts closing; ok is false outside that, so the management
// API neither lists nor closes again a connection on its way out. It
// takes the dispatch lock briefly (never held across long I/O), so it is
// safe from any goroutine.
func (c *Conn) Info() (Info, bool) {
	id := c.Identity()
	if id == nil {
		return Info{}, false
	}
	c.dispatchMu.Lock()
	defer c.dispatchMu.Unlock()
	if c.closing {
		return Info{}, false // on its way out: a second DELETE must find nothing
	}
	return Info{ID: c.id, Identity: *id, Peer: c.nc.RemoteAddr(), Local: c.nc.LocalAddr(),
		Channels: len(c.channels), FrameMax: c.frameMax, ChannelMax: c.channelMax,
		Heartbeat: c.heartbeat, ClientCapabilities: c.clientCaps}, true
}
