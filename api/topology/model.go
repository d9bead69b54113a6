// Package topology is the model of an instance's topology as kept in NATS
// JetStream KV: the instance with its quotas, vhosts, users, permissions,
// exchanges, queues and bindings, with the validation rules RabbitMQ
// applies to their names and arguments. The gateway, the storage
// node and the control plane all read it; only the control plane writes it.
package topology

import (
	"strings"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/storage"
)

// DefaultInstance is the instance every deployment has from the start.
const DefaultInstance = "default"

// Exchange types Warren routes.
const (
	Direct  = "direct"
	Fanout  = "fanout"
	Topic   = "topic"
	Headers = "headers"
)

// VHost is a virtual host: the namespace of exchanges, queues and bindings.
// Description and tags are RabbitMQ's vhost metadata.
type VHost struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
}

// Exchange is a declared exchange. AlternateExchange is parsed from Args at
// declaration ("alternate-exchange", no x- prefix, as RabbitMQ).
type Exchange struct {
	VHost             string     `json:"vhost"`
	Name              string     `json:"name"`
	Type              string     `json:"type"`
	Durable           bool       `json:"durable"`
	AutoDelete        bool       `json:"auto_delete"`
	Internal          bool       `json:"internal"`
	Args              amqp.Table `json:"-"`
	AlternateExchange string     `json:"alternate_exchange,omitempty"`
}

// Queue is a declared queue and where it lives. ID names its storage; Node is
// the storage node that owns it; Owner is the connection that holds an
// exclusive queue.
type Queue struct {
	VHost      string          `json:"vhost"`
	Name       string          `json:"name"`
	ID         storage.QueueID `json:"id"`
	Durable    bool            `json:"durable"`
	Exclusive  bool            `json:"exclusive"`
	AutoDelete bool            `json:"auto_delete"`
	Owner      string          `json:"owner,omitempty"`
	Args       amqp.Table      `json:"-"`
	Node       string          `json:"node"`
}

// DestKind says whether a binding's destination is a queue or an exchange.
type DestKind string

const (
	ToQueue    DestKind = "queue"
	ToExchange DestKind = "exchange"
)

// Binding links a source exchange to a queue or to another exchange.
type Binding struct {
	VHost    string     `json:"vhost"`
	Source   string     `json:"source"`
	DestKind DestKind   `json:"dest_kind"`
	Dest     string     `json:"dest"`
	Key      string     `json:"key"`
	Args     amqp.Table `json:"-"`
}

// IsSystemExchange: the default exchange or an amq.* one, which every
// vhost has and no quota counts.
func IsSystemExchange(name string) bool {
	return name == "" || strings.HasPrefix(name, "amq.")
}

// SystemExchanges are the exchanges every vhost has (rabbit_vhost.erl), all durable.
func SystemExchanges(vhost string) []Exchange {
	x := func(name, typ string, internal bool) Exchange {
		return Exchange{VHost: vhost, Name: name, Type: typ, Durable: true, Internal: internal}
	}
	return []Exchange{
		x("", Direct, false),
		x("amq.direct", Direct, false),
		x("amq.fanout", Fanout, false),
		x("amq.topic", Topic, false),
		x("amq.headers", Headers, false),
		x("amq.match", Headers, false),
		x("amq.rabbitmq.trace", Topic, true),
	}
}
