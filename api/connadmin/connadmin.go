// Package connadmin is how the control plane lists and closes the AMQP
// connections the gateways hold, and lists their channels and consumers,
// over core NATS request/reply. All are broadcast: every gateway answers
// a ListRequest with its connections (channels, consumers) of one
// instance, and a CloseRequest with whether it had (and closed) the
// connection; the requester gathers replies until every live gateway has
// answered or a deadline passes. Connections are named as RabbitMQ names
// them ("<peer> -> <local address>"), unique across gateways, which
// listen on different addresses.
package connadmin

// Subjects every gateway answers on.
const (
	ListSubject      = "warren.connections.list"
	CloseSubject     = "warren.connections.close"
	ChannelsSubject  = "warren.channels.list"  // a ListRequest, answered with a ChannelsReply
	ConsumersSubject = "warren.consumers.list" // a ListRequest, answered with a ConsumersReply
)

// ListRequest asks for the connections of one instance.
type ListRequest struct {
	Instance string `json:"instance"`
}

// ListReply is one gateway's answer: its connections of the instance.
type ListReply struct {
	Gateway     string `json:"gateway"`
	Connections []Info `json:"connections"`
}

// CloseRequest asks a gateway to close a connection with 320
// CONNECTION_FORCED and Reason.
type CloseRequest struct {
	Instance string `json:"instance"`
	Name     string `json:"name"`
	Reason   string `json:"reason"`
}

// CloseReply says whether the gateway had the connection.
type CloseReply struct {
	Found bool   `json:"found"`
	Error string `json:"error,omitempty"`
}

// Info describes a connection with the fields and JSON names of
// RabbitMQ 3.10's GET /api/connections.
type Info struct {
	Name             string         `json:"name"`
	Node             string         `json:"node"`
	VHost            string         `json:"vhost"`
	User             string         `json:"user"`
	State            string         `json:"state"`
	Channels         int            `json:"channels"`
	Protocol         string         `json:"protocol"`
	AuthMechanism    string         `json:"auth_mechanism"`
	PeerHost         string         `json:"peer_host"`
	PeerPort         int            `json:"peer_port"`
	Host             string         `json:"host"`
	Port             int            `json:"port"`
	SSL              bool           `json:"ssl"`
	ConnectedAt      int64          `json:"connected_at"` // milliseconds since the epoch
	Timeout          int            `json:"timeout"`      // negotiated heartbeat, seconds
	FrameMax         int            `json:"frame_max"`
	ChannelMax       int            `json:"channel_max"`
	ClientProperties map[string]any `json:"client_properties"`
	Type             string         `json:"type"`
}

// ChannelsReply is one gateway's answer: its channels of the instance.
type ChannelsReply struct {
	Gateway  string    `json:"gateway"`
	Channels []Channel `json:"channels"`
}

// ConsumersReply is one gateway's answer: its consumers of the instance.
type ConsumersReply struct {
	Gateway   string     `json:"gateway"`
	Consumers []Consumer `json:"consumers"`
}

// Channel describes a channel with the fields and JSON names of RabbitMQ
// 3.10's GET /api/channels. Name is "<connection name> (<number>)".
type Channel struct {
	Name                   string            `json:"name"`
	Node                   string            `json:"node"`
	Number                 int               `json:"number"`
	VHost                  string            `json:"vhost"`
	User                   string            `json:"user"`
	UserWhoPerformedAction string            `json:"user_who_performed_action"`
	State                  string            `json:"state"`
	ConnectionDetails      ConnectionDetails `json:"connection_details"`
	Confirm                bool              `json:"confirm"`
	Transactional          bool              `json:"transactional"`
	ConsumerCount          int               `json:"consumer_count"`
	PrefetchCount          int               `json:"prefetch_count"`
	GlobalPrefetchCount    int               `json:"global_prefetch_count"`
	MessagesUnacknowledged int               `json:"messages_unacknowledged"`
	MessagesUnconfirmed    int               `json:"messages_unconfirmed"`
	MessagesUncommitted    int               `json:"messages_uncommitted"`
	AcksUncommitted        int               `json:"acks_uncommitted"`
	PendingRaftCommands    int               `json:"pending_raft_commands"`
	MessageStats           map[string]any    `json:"message_stats"` // rates are not measured: empty
}

// ConnectionDetails names a channel's connection.
type ConnectionDetails struct {
	Name     string `json:"name"`
	PeerHost string `json:"peer_host"`
	PeerPort int    `json:"peer_port"`
}

// Consumer describes a consumer with the fields and JSON names of RabbitMQ
// 3.10's GET /api/consumers.
type Consumer struct {
	ConsumerTag    string         `json:"consumer_tag"`
	Queue          QueueRef       `json:"queue"`
	ChannelDetails ChannelDetails `json:"channel_details"`
	AckRequired    bool           `json:"ack_required"`
	Exclusive      bool           `json:"exclusive"`
	PrefetchCount  int            `json:"prefetch_count"`
	Active         bool           `json:"active"`
	ActivityStatus string         `json:"activity_status"`
	Arguments      map[string]any `json:"arguments"`
}

// QueueRef names a consumer's queue.
type QueueRef struct {
	Name  string `json:"name"`
	VHost string `json:"vhost"`
}

// ChannelDetails names a consumer's channel and its connection.
type ChannelDetails struct {
	Name           string `json:"name"`
	Number         int    `json:"number"`
	ConnectionName string `json:"connection_name"`
	Node           string `json:"node"`
	PeerHost       string `json:"peer_host"`
	PeerPort       int    `json:"peer_port"`
	User           string `json:"user"`
}
