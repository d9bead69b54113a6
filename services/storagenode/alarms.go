package storagenode

import (
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/alarm"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/storage-node/node"
)

// alarmReporter tells the gateways about the node's resource alarms, which
// block publishers cluster-wide: each change goes out at once on core NATS
// (alarm.Subject), and the current status rides on every registry
// heartbeat, for a gateway that starts later or missed the message.
type alarmReporter struct {
	nc   *nats.Conn
	name string
	log  *slog.Logger
	mu   struct {
		sync.Mutex
		st alarm.Status // the latest change
	}
}

// newAlarmReporter starts with the node's current alarms, versioned from
// now so that they supersede whatever a previous run of the node reported.
func newAlarmReporter(nc *nats.Conn, name string, n *node.Node, log *slog.Logger) *alarmReporter {
	r := &alarmReporter{nc: nc, name: name, log: log}
	memory, disk := n.Alarms()
	r.mu.st = alarm.Status{State: alarm.State{Memory: memory, Disk: disk}, Version: uint64(time.Now().UnixNano())}
	return r
}

// heartbeat is the registry update hook: it stamps the current status.
func (r *alarmReporter) heartbeat(e *registry.Entry) {
	r.mu.Lock()
	e.Alarms = r.mu.st
	r.mu.Unlock()
}

// change records st, if new, and publishes it. Publishing only buffers in
// the NATS client; a message lost to a NATS outage is made good by the
// next heartbeat.
func (r *alarmReporter) change(st alarm.State) {
	r.mu.Lock()
	if st == r.mu.st.State {
		r.mu.Unlock()
		return
	}
	r.mu.st = alarm.Status{State: st, Version: r.mu.st.Version + 1}
	msg := alarm.Message{Node: r.name, Status: r.mu.st}
	r.mu.Unlock()
	if err := r.nc.Publish(alarm.Subject(r.name), msg.Encode()); err != nil {
		r.log.Warn("announcing alarm change", "memory", st.Memory, "disk", st.Disk, "err", err)
	}
}
