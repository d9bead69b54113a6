package gatewayd

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/alarm"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/gateway/conn"
)

// Alarm bounds.
const (
	// alarmPoll is how often the gateway rereads the storage nodes' registry
	// entries (through the shared one-second cache of registry.Nodes): a
	// node that deregistered stops counting within about two of it.
	alarmPoll = time.Second
	// heardTTL is how long an alarm heard on NATS from a node not (yet) in
	// a registry read counts: the storage nodes' registry TTL.
	heardTTL = 6 * time.Second
	// maxAlarmNodes bounds the nodes the table tracks; announcements from
	// further unknown nodes are dropped until registry reads prune it.
	maxAlarmNodes = 4096
	// alarmBacklog bounds the announcements queued for the alarm loop; NATS
	// drops beyond it, and registry reads make good what was dropped.
	alarmBacklog = 256
)

// alarmTable combines the resource alarms of the storage nodes into the
// cluster's, as RabbitMQ does: an alarm on any live node blocks publishers.
// It learns a node's status from its announcements on NATS and from its
// registry entry, keeping per node the newest status (alarm.Status
// versions) whichever way it came. A node counts while it is alive: until
// its registry entry's heartbeat expires (a SIGKILLed node), or until a
// registry read no longer lists it (a node that deregistered). It does no
// I/O and is not safe for concurrent use: the gateway's alarm loop owns it.
type alarmTable struct {
	nodes map[string]alarmRecord
}

type alarmRecord struct {
	st      alarm.Status
	expires time.Time // the node counts until then
	heard   time.Time // when it last announced on NATS; zero if never
}

func newAlarmTable() *alarmTable { return &alarmTable{nodes: map[string]alarmRecord{}} }

// heard applies a node's announcement received at now.
func (t *alarmTable) heard(m alarm.Message, now time.Time) {
	r, ok := t.nodes[m.Node]
	if !ok && len(t.nodes) >= maxAlarmNodes {
		return
	}
	if !ok || m.Status.Newer(r.st) {
		r.st = m.Status
	}
	r.heard = now
	r.expires = later(r.expires, now.Add(heardTTL))
	t.nodes[m.Node] = r
}

// listed applies a registry read made at readAt: the storage nodes alive
// then. A node it does not list is forgotten unless it announced something
// since, which the read may predate.
func (t *alarmTable) listed(entries []registry.Entry, readAt time.Time) {
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		seen[e.Name] = true
		r, ok := t.nodes[e.Name]
		if !ok || e.Alarms.Newer(r.st) {
			r.st = e.Alarms
		}
		r.expires = later(r.expires, e.Heartbeat.Add(e.TTL))
		t.nodes[e.Name] = r
	}
	for name, r := range t.nodes {
		if !seen[name] && r.heard.Before(readAt) {
			delete(t.nodes, name)
		}
	}
}

// state is the OR of the alarms of the nodes alive at now.
func (t *alarmTable) state(now time.Time) alarm.State {
	var st alarm.State
	for _, r := range t.nodes {
		if !now.After(r.expires) {
			st = st.Or(r.st.State)
		}
	}
	return st
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// watchAlarms keeps the gate shut, with RabbitMQ's reason text, while any
// live storage node has a resource alarm. The gate is set from the
// registry before it returns, so a gateway starting during an alarm blocks
// its first publishers; the loop it starts runs until ctx ends.
func watchAlarms(ctx context.Context, nc *nats.Conn, nodes *registry.Nodes, gate *conn.Gate, log *slog.Logger) error {
	msgs := make(chan *nats.Msg, alarmBacklog)
	sub, err := nc.ChanSubscribe(alarm.Subjects, msgs)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", alarm.Subjects, err)
	}
	t := newAlarmTable()
	t.listed(nodes.Alive())
	gate.Set(t.state(time.Now()).Reason())
	go func() {
		defer func() { _ = sub.Unsubscribe() }()
		tick := time.NewTicker(alarmPoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				if a, err := alarm.Decode(m.Data); err == nil {
					t.heard(a, time.Now())
				} else {
					log.Warn("bad alarm announcement", "subject", m.Subject, "err", err)
				}
			case <-tick.C:
				t.listed(nodes.Alive())
			}
			gate.Set(t.state(time.Now()).Reason())
		}
	}()
	return nil
}
