package registry

import (
	"fmt"
	"time"
)

// DefaultGatewayTimeout is the default bound on how long the cluster takes
// to act on a gateway that died without closing (SIGKILL, a lost host):
// its exclusive queues are deleted and its consumers' unacked messages are
// requeued, flagged redelivered, within it (issue 3's 10 s).
const DefaultGatewayTimeout = 10 * time.Second

// MinGatewayTimeout is the smallest bound accepted: a storage node pings a
// silent gateway after half the bound, and gRPC pings no sooner than 1 s.
const MinGatewayTimeout = 2 * time.Second

// GatewayLiveness holds the timers every process derives from one gateway
// timeout B (`--gateway-timeout`), so that a dead gateway is handled
// within B: its last heartbeat is at most Heartbeat old when it dies, the
// control plane counts it dead once the heartbeat is Stale old and sees
// that at its next Sweep (Stale + Sweep = B); storage nodes end its gRPC
// sessions after PeerIdle without traffic plus PeerAck without a ping
// answer (PeerIdle + PeerAck = B).
type GatewayLiveness struct {
	Heartbeat time.Duration // a gateway refreshes its registry entry this often: B/5
	Sweep     time.Duration // the control plane looks for dead gateways this often: B/5
	Stale     time.Duration // a gateway whose heartbeat is older counts as dead: B - Sweep
	PeerIdle  time.Duration // a storage node pings a gateway silent this long: B/2
	PeerAck   time.Duration // and closes its connection if the ping is unanswered this long: B/2
}

// ForGatewayTimeout derives the timers for bound b, DefaultGatewayTimeout
// when b is 0; it refuses any other bound below MinGatewayTimeout.
func ForGatewayTimeout(b time.Duration) (GatewayLiveness, error) {
	if b == 0 {
		b = DefaultGatewayTimeout
	}
	if b < MinGatewayTimeout {
		return GatewayLiveness{}, fmt.Errorf("gateway timeout %v is below the minimum %v", b, MinGatewayTimeout)
	}
	l := GatewayLiveness{Heartbeat: b / 5, Sweep: b / 5, PeerIdle: b / 2}
	l.Stale = b - l.Sweep
	l.PeerAck = b - l.PeerIdle
	return l, nil
}
