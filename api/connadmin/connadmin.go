// Package connadmin is how the control plane lists and closes the AMQP
// connections the gateways hold, over core NATS request/reply. Both are
// broadcast: every gateway answers a ListRequest with its connections of
// one instance, and a CloseRequest with whether it had (and closed) the
// connection; the requester gathers replies until every live gateway has
// answered or a deadline passes. Connections are named as RabbitMQ names
// them ("<peer> -> <local address>"), unique across gateways, which
// listen on different addresses.
package connadmin

// Subjects every gateway answers on.
const (
	ListSubject  = "warren.connections.list"
	CloseSubject = "warren.connections.close"
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
