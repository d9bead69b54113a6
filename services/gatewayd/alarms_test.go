package gatewayd

import (
	"strconv"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/alarm"
	"github.com/warrenmq/warren/api/registry"
)

// t0 is the scripts' epoch; steps give times as offsets from it.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const ttl = 6 * time.Second // a storage node's registry TTL (3 × 2 s)

// step is one input to the table — an announcement heard, or else a
// registry read made at `at` (none when idle) — then the reason the gate
// must show at the step's time.
type step struct {
	at    time.Duration
	heard *alarm.Message
	read  []registry.Entry
	idle  bool
	want  string
}

func msg(node string, version uint64, memory, disk bool) *alarm.Message {
	return &alarm.Message{Node: node, Status: status(version, memory, disk)}
}

func status(version uint64, memory, disk bool) alarm.Status {
	return alarm.Status{State: alarm.State{Memory: memory, Disk: disk}, Version: version}
}

// entry is a node's registry entry with its last heartbeat at hb.
func entry(node string, hb time.Duration, st alarm.Status) registry.Entry {
	return registry.Entry{Kind: registry.StorageNode, Name: node, Heartbeat: t0.Add(hb), TTL: ttl, Alarms: st}
}

func TestAlarmTable(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"no nodes, no alarm", []step{
			{at: 0, read: nil, want: ""},
		}},
		{"OR across nodes, cleared node by node", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(1, false, true)), entry("b", 0, status(1, false, false))}, want: "low on disk"},
			{at: time.Second, heard: msg("b", 2, true, false), want: "low on disk & memory"},
			{at: 2 * time.Second, heard: msg("a", 2, false, false), want: "low on memory"},
			{at: 3 * time.Second, heard: msg("b", 3, false, false), want: ""},
		}},
		{"a gateway that starts late learns from the registry", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(7, true, false))}, want: "low on memory"},
		}},
		{"a deregistered node stops counting at the next read", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(1, false, true)), entry("b", 0, status(1, false, false))}, want: "low on disk"},
			{at: time.Second, read: []registry.Entry{entry("b", time.Second, status(1, false, false))}, want: ""},
		}},
		{"a dead node's alarm ends with its heartbeat's TTL, though reads still list it", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(1, false, true))}, want: "low on disk"},
			{at: ttl, read: []registry.Entry{entry("a", 0, status(1, false, true))}, want: "low on disk"},
			{at: ttl + time.Millisecond, read: []registry.Entry{entry("a", 0, status(1, false, true))}, want: ""},
		}},
		{"an unread registry (last good read served again) does not keep a dead node alive", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(1, true, false))}, want: "low on memory"},
			{at: 10 * time.Second, read: []registry.Entry{entry("a", 0, status(1, true, false))}, want: ""},
		}},
		{"a heartbeat carrying an older status does not undo an announcement", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(1, false, false))}, want: ""},
			{at: 1 * time.Second, heard: msg("a", 2, false, true), want: "low on disk"},
			{at: 2 * time.Second, read: []registry.Entry{entry("a", 2*time.Second, status(1, false, false))}, want: "low on disk"},
			{at: 4 * time.Second, read: []registry.Entry{entry("a", 4*time.Second, status(2, false, true))}, want: "low on disk"},
		}},
		{"a late announcement older than the registry's status is ignored", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(3, false, false))}, want: ""},
			{at: time.Second, heard: msg("a", 2, true, false), want: ""},
		}},
		{"an announcement survives a read that predates it", []step{
			{at: 0, read: nil, want: ""},
			{at: time.Second, heard: msg("new", 1, false, true), want: "low on disk"},
			{at: 0, read: nil, want: "low on disk"}, // a cached read made before the announcement
			{at: 2 * time.Second, read: nil, want: ""},
		}},
		{"an announcement from a node never listed expires", []step{
			{at: 0, heard: msg("ghost", 1, true, true), want: "low on disk & memory"},
			{at: heardTTL, idle: true, want: "low on disk & memory"},
			{at: heardTTL + time.Millisecond, idle: true, want: ""},
		}},
		{"a node restarted after SIGKILL supersedes its old status", []step{
			{at: 0, read: []registry.Entry{entry("a", 0, status(100, false, true))}, want: "low on disk"},
			{at: time.Second, read: []registry.Entry{entry("a", time.Second, status(200, false, false))}, want: ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := newAlarmTable()
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				switch {
				case s.heard != nil:
					tab.heard(*s.heard, now)
				case !s.idle:
					tab.listed(s.read, now)
				}
				if got := tab.state(now).Reason(); got != s.want {
					t.Fatalf("step %d: reason %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

// A flood of announcements from unknown nodes cannot grow the table without
// bound; the nodes the registry lists still count.
func TestAlarmTableBounded(t *testing.T) {
	tab := newAlarmTable()
	for i := range maxAlarmNodes + 10 {
		tab.heard(alarm.Message{Node: "n" + strconv.Itoa(i), Status: status(1, false, false)}, t0)
	}
	if len(tab.nodes) != maxAlarmNodes {
		t.Fatalf("table holds %d nodes, want the bound %d", len(tab.nodes), maxAlarmNodes)
	}
	tab.listed([]registry.Entry{entry("real", 0, status(1, false, true))}, t0.Add(time.Second))
	if len(tab.nodes) != 1 || tab.state(t0.Add(time.Second)).Reason() != "low on disk" {
		t.Fatalf("after a registry read: %d nodes, reason %q", len(tab.nodes), tab.state(t0.Add(time.Second)).Reason())
	}
}
