// Package conn serves one AMQP 0-9-1 client connection: the handshake, the
// frame loop, channels, publishing, consuming and the topology methods,
// with RabbitMQ's negotiation limits and reply codes.
package conn

import (
	"context"
	"log/slog"
	"time"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/gateway/auth"
)

// Defaults RabbitMQ uses (reference §1.2).
const (
	DefaultFrameMax        = 131072
	DefaultChannelMax      = 2047
	DefaultHeartbeat       = 60 * time.Second
	DefaultMaxMessageSize  = 16 << 20
	DefaultConsumerTimeout = 30 * time.Minute
	DefaultHandshake       = 10 * time.Second
	// MinFrameMax is the smallest frame_max a client may negotiate (rabbit_reader).
	MinFrameMax = 8192
	// DefaultPublishQueue bounds publishes waiting for storage per connection:
	// past it the reader stops reading, and TCP pushes back on the client.
	DefaultPublishQueue = 4096
	// DefaultNoAckWindow bounds deliveries to a no-ack consumer that are
	// buffered but not yet written to the socket.
	DefaultNoAckWindow = 2048
)

// Authenticator checks a login attempt and says which instance and user it
// is; an error (logged, never sent) refuses it.
type Authenticator interface {
	Authenticate(auth.Attempt) (auth.Login, error)
}

// Config is shared by every connection of a gateway.
type Config struct {
	FrameMax        uint32
	ChannelMax      uint16
	Heartbeat       time.Duration
	MaxMessageSize  int
	ConsumerTimeout time.Duration
	PublishQueue    int
	NoAckWindow     uint32

	Auth Authenticator
	// Perms are the users' compiled permissions; Prepare makes them from
	// Mirror when nil.
	Perms    *auth.Permissions
	Topology control.Topology
	Mirror   *topokv.Mirror
	// ClusterSync, when set, waits (boundedly) until every other gateway
	// holds a topology revision too, so a change is visible cluster-wide
	// when the client hears its -ok. Nil with a single gateway.
	ClusterSync func(ctx context.Context, rev uint64)
	// Gate, when set, blocks publishers during storage alarms.
	Gate *Gate
	// Node returns the storage node with the given name.
	Node func(name string) (storage.Node, bool)
	// RemoteStorage says every storage node is in another process: the
	// buffers publishes arrive in are then pooled, and reused once the
	// nodes have copied and confirmed them (see recycleBodies).
	RemoteStorage bool
	// ReplyRelay, when set, carries direct reply-to replies to the requester's
	// gateway; nil means this gateway is the only one.
	ReplyRelay ReplyRelay
	// Seats, when set, counts each instance's connections across every
	// gateway for max_connections and splits max_publish_rate among them.
	// Nil means this gateway is the only one (warren serve): it counts its
	// own connections in memory, which is then the exact cluster count,
	// with no round trip on connection.open.
	Seats Seats
	// Product and Version go into connection.start's server properties.
	Product, Version string
	Log              *slog.Logger

	replies *replyRegistry
	tenants *tenants
}

// Prepare fills RabbitMQ's defaults into a gateway's configuration and sets
// up the state its connections share.
func Prepare(c Config) *Config {
	c = c.withDefaults()
	c.replies = &replyRegistry{}
	c.tenants = newTenants()
	if c.Seats != nil {
		c.Seats.Follow(c.tenants.setGateways)
	}
	if c.Perms == nil {
		c.Perms = auth.NewPermissions(auth.MirrorDirectory{M: c.Mirror})
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return &c
}

// withDefaults fills zero values with RabbitMQ's defaults.
func (c Config) withDefaults() Config {
	if c.FrameMax == 0 {
		c.FrameMax = DefaultFrameMax
	}
	if c.ChannelMax == 0 {
		c.ChannelMax = DefaultChannelMax
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.ConsumerTimeout == 0 {
		c.ConsumerTimeout = DefaultConsumerTimeout
	}
	if c.PublishQueue == 0 {
		c.PublishQueue = DefaultPublishQueue
	}
	if c.NoAckWindow == 0 {
		c.NoAckWindow = DefaultNoAckWindow
	}
	return c
}
