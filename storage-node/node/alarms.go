package node

import (
	"context"
	"runtime/metrics"
	"sync"
	"time"
)

// AlarmState is the node's resource alarms; a gateway blocks publishing
// connections (connection.blocked) while either is set. Disk is also set
// while the hot-budget alarm is (TIERING.md §6): the node's hot bytes
// reached Tier.HotBytes, so publishers get RabbitMQ's "low on disk"
// reason, in every shape, with no change to what gateways read.
// Node.HotAlarm tells the two apart.
type AlarmState struct {
	Memory bool
	Disk   bool
}

// alarmMonitor samples the Go heap and the data directory's free space
// every AlarmInterval, and the node's hot bytes then and whenever a shard
// sees them cross a mark of the hot budget (tiering.nudge); it tells
// subscribers when the state changes.
type alarmMonitor struct {
	n  *Node
	mu sync.Mutex // guards st, hot and subs
	st AlarmState
	// hot is the hot-budget alarm, folded into st.Disk: up at
	// Tier.HotBytes, down under 90% of it.
	hot  bool
	subs map[chan AlarmState]struct{}
	quit chan struct{}
	done chan struct{}
	smp  []metrics.Sample
}

// hotClearDivisor: the hot-budget alarm clears once the node's hot bytes
// are under Tier.HotBytes less a hotClearDivisor-th of it (90%), so the
// alarm does not flap while uploads just keep up.
const hotClearDivisor = 10

func newAlarmMonitor(n *Node) *alarmMonitor {
	a := &alarmMonitor{n: n, subs: map[chan AlarmState]struct{}{}, quit: make(chan struct{}), done: make(chan struct{}),
		smp: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
	a.check()
	go a.run()
	return a
}

func (a *alarmMonitor) run() {
	defer close(a.done)
	t := time.NewTicker(a.n.opts.AlarmInterval)
	defer t.Stop()
	var nudge chan struct{} // nil without tiering: never ready
	if a.n.tier != nil {
		nudge = a.n.tier.nudge
	}
	for {
		select {
		case <-t.C:
			a.check()
		case <-nudge:
			a.check()
		case <-a.quit:
			return
		}
	}
}

func (a *alarmMonitor) stop() {
	close(a.quit)
	<-a.done
}

// check samples the resources and publishes a change.
func (a *alarmMonitor) check() {
	var st AlarmState
	o := &a.n.opts
	if o.MemoryHighWatermark > 0 {
		metrics.Read(a.smp)
		if a.smp[0].Value.Kind() == metrics.KindUint64 {
			st.Memory = int64(a.smp[0].Value.Uint64()) > o.MemoryHighWatermark
		}
	}
	if o.DiskFreeLimit > 0 {
		if u, err := o.FS.GetDiskUsage(a.n.dir); err == nil {
			st.Disk = int64(u.AvailBytes) < o.DiskFreeLimit
		}
	}
	a.set(st, a.hotBytes())
}

// hotBytes is the node's hot bytes, -1 without tiering.
func (a *alarmMonitor) hotBytes() int64 {
	if a.n.tier == nil {
		return -1
	}
	return a.n.tier.hot.Load()
}

// hotAlarm is the hot-budget alarm for hot bytes against budget, given
// whether it is up now: it rises at the budget and clears under 90% of
// it.
func hotAlarm(up bool, hot, budget int64) bool {
	if up {
		return hot >= budget-budget/hotClearDivisor
	}
	return hot >= budget
}

// hotMoved nudges the alarm monitor when the node's hot bytes went from
// old to cur across a mark of the hot-budget alarm, so it does not wait
// for the next AlarmInterval (TIERING.md §6).
func (t *tiering) hotMoved(old, cur int64) {
	budget := t.cfg.HotBytes
	if hotAlarm(false, old, budget) == hotAlarm(false, cur, budget) && hotAlarm(true, old, budget) == hotAlarm(true, cur, budget) {
		return // crossed neither the rising mark nor the clearing one
	}
	select {
	case t.nudge <- struct{}{}:
	default: // a check is pending already
	}
}

// set publishes st, with the hot-budget alarm for hot bytes (-1: no
// tiering) folded into Disk, when that changes the state.
func (a *alarmMonitor) set(st AlarmState, hot int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	disk, wasHot := st.Disk, a.hot
	if hot >= 0 {
		a.hot = hotAlarm(a.hot, hot, a.n.tier.cfg.HotBytes)
		st.Disk = disk || a.hot
	}
	if st == a.st && a.hot == wasHot {
		return
	}
	a.n.opts.Logger.Warn("storage node alarms changed", "memory", st.Memory, "disk", disk,
		"hot", a.hot, "hot_bytes", hot)
	if st == a.st {
		return // the hot-budget alarm changed under the disk alarm
	}
	a.st = st
	for ch := range a.subs {
		select { // keep only the latest state in the channel
		case <-ch:
		default:
		}
		ch <- st
	}
}

// Alarms reports the current resource alarms; disk includes the
// hot-budget alarm (AlarmState).
func (n *Node) Alarms() (memory, disk bool) {
	n.alarms.mu.Lock()
	defer n.alarms.mu.Unlock()
	return n.alarms.st.Memory, n.alarms.st.Disk
}

// HotAlarm reports whether the hot-budget alarm is up: the node's hot
// bytes reached Tier.HotBytes and are not yet under 90% of it. Always
// false without tiering.
func (n *Node) HotAlarm() bool {
	n.alarms.mu.Lock()
	defer n.alarms.mu.Unlock()
	return n.alarms.hot
}

// WatchAlarms calls fn with the current alarm state and then with each
// change, until ctx ends.
func (n *Node) WatchAlarms(ctx context.Context, fn func(AlarmState)) {
	states, unsubscribe := n.SubscribeAlarms()
	defer unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-states:
			fn(st)
		}
	}
}

// SubscribeAlarms returns a channel that receives the alarm state each time
// it changes (holding only the latest, so a slow reader never blocks the
// node), starting with the current state, and a function to unsubscribe.
func (n *Node) SubscribeAlarms() (<-chan AlarmState, func()) {
	ch := make(chan AlarmState, 1)
	a := n.alarms
	a.mu.Lock()
	a.subs[ch] = struct{}{}
	ch <- a.st
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}
}
