package topology

import "time"

// Instance is one tenant's isolated broker. Its vhosts, users, permissions
// and topology are keyed under its name; nothing crosses instances.
type Instance struct {
	Name    string         `json:"name"`
	Quotas  Quotas         `json:"quotas"`
	Status  InstanceStatus `json:"status"`
	Created time.Time      `json:"created"`
}

// InstanceStatus is where an instance is in its life.
type InstanceStatus string

const (
	// Active instances serve clients and take changes.
	Active InstanceStatus = "active"
	// Deleting instances take no changes; their contents are being removed,
	// and the record goes last, so a deletion cut short can be finished.
	Deleting InstanceStatus = "deleting"
)

// Quotas bound what one instance may use; 0 means no limit of the
// instance's own (the deployment's limits still apply).
type Quotas struct {
	MaxConnections           uint32 `json:"max_connections"`
	MaxChannelsPerConnection uint32 `json:"max_channels_per_connection"`
	MaxQueues                uint32 `json:"max_queues"`
	// MaxExchanges does not count the exchanges every vhost has.
	MaxExchanges   uint32 `json:"max_exchanges"`
	MaxVHosts      uint32 `json:"max_vhosts"`
	MaxPublishRate uint32 `json:"max_publish_rate"` // messages per second
	MaxMessageSize uint32 `json:"max_message_size"` // bytes
	MaxStoredBytes uint64 `json:"max_stored_bytes"`
}

// DefaultQuotas are what a new instance gets for the quotas its creator
// leaves out: room for a busy application, and bounds that keep one tenant
// from taking a shared deployment. Publish rate and stored bytes are open:
// Warren is built to absorb backlogs, and rates are bounded per connection.
var DefaultQuotas = Quotas{
	MaxConnections:           1000,
	MaxChannelsPerConnection: 2047, // RabbitMQ's channel_max
	MaxQueues:                10000,
	MaxExchanges:             10000,
	MaxVHosts:                100,
	MaxMessageSize:           16 << 20, // RabbitMQ's default max_message_size
}

// Default user of the default instance, as on a fresh RabbitMQ node.
const (
	DefaultVHost = "/"
	GuestUser    = "guest"
	GuestTag     = "administrator"
)
