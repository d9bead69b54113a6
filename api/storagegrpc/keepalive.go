package storagegrpc

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Keepalive between storage clients (gateways, and storage nodes routing
// dead letters) and storage nodes. A peer that vanishes without closing TCP
// (a lost host, a partition) sends no FIN, so without pings a session
// stream would stay open and hold its unacked messages for as long as TCP
// retransmits (minutes).
const (
	// clientPingIdle is how long a client's connection may be silent before
	// the client pings; gRPC refuses to ping more often than every 10 s.
	clientPingIdle = 10 * time.Second
	// clientPingAck is how long the client waits for the ping's answer
	// before it drops the connection and its streams fail.
	clientPingAck = 5 * time.Second
	// minClientPing is the most frequent client ping a server tolerates;
	// a client pinging more often gets GOAWAY (too_many_pings). It must
	// stay at or below clientPingIdle.
	minClientPing = 5 * time.Second
)

// KeepaliveServerOptions make a storage server ping a client connection
// silent for idle and close it (ending its sessions, whose unacked
// messages go back to their queues, redelivered) when the ping is not
// answered within ack. They also admit the pings KeepaliveDialOptions send.
func KeepaliveServerOptions(idle, ack time.Duration) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: idle, Timeout: ack}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: minClientPing, PermitWithoutStream: true}),
	}
}

// KeepaliveDialOptions make a storage client notice a storage node that
// vanished within clientPingIdle + clientPingAck of silence.
func KeepaliveDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithKeepaliveParams(keepalive.ClientParameters{
		Time: clientPingIdle, Timeout: clientPingAck, PermitWithoutStream: true,
	})}
}
