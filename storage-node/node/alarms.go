package node

import (
	"context"
	"runtime/metrics"
	"sync"
	"time"
)

// AlarmState is the node's resource alarms; a gateway blocks publishing
// connections (connection.blocked) while either is set.
type AlarmState struct {
	Memory bool
	Disk   bool
}

// alarmMonitor samples the Go heap and the data directory's free space
// every AlarmInterval and tells subscribers when the state changes.
type alarmMonitor struct {
	n    *Node
	mu   sync.Mutex
	st   AlarmState
	subs map[chan AlarmState]struct{}
	quit chan struct{}
	done chan struct{}
	smp  []metrics.Sample
}

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
	for {
		select {
		case <-t.C:
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

// check samples both resources and publishes a change.
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
	a.set(st)
}

func (a *alarmMonitor) set(st AlarmState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st == a.st {
		return
	}
	if st.Memory != a.st.Memory || st.Disk != a.st.Disk {
		a.n.opts.Logger.Warn("storage node alarms changed", "memory", st.Memory, "disk", st.Disk)
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

// Alarms reports the current resource alarms.
func (n *Node) Alarms() (memory, disk bool) {
	n.alarms.mu.Lock()
	defer n.alarms.mu.Unlock()
	return n.alarms.st.Memory, n.alarms.st.Disk
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
