package conn

import (
	"sync"
	"time"
)

// tenants is this gateway's state per instance: its open connections, for
// the max_connections quota when this gateway is the only one (with
// several, Config.Seats counts them cluster-wide), and its publish-rate
// bucket.
//
// max_publish_rate is split evenly among the gateways serving connections
// of the instance: each paces its own publishers at rate / gateways, with
// the number of gateways as Seats last learned it. That is an
// approximation: a gateway whose connections of the instance only consume
// still takes a share, so its publishers elsewhere get less than the
// quota, never more; and while a gateway joins, until the others learn of
// it (their next sync), the instance may publish up to one share over.
type tenants struct {
	mu sync.Mutex
	m  map[string]*tenant
	// gateways is how many gateways serve each instance, as Seats reported
	// it; absent means 1. Bounded by the instances this gateway served.
	gateways map[string]int
}

type tenant struct {
	conns int
	quota uint32      // max_publish_rate as of the last connection.open
	rate  *rateBucket // nil until the instance has a rate quota
	gate  *Gate       // shut while the instance is past max_stored_bytes
}

func newTenants() *tenants { return &tenants{m: map[string]*tenant{}, gateways: map[string]int{}} }

func (t *tenants) getLocked(inst string) *tenant {
	tn := t.m[inst]
	if tn == nil {
		tn = &tenant{}
		t.m[inst] = tn
	}
	return tn
}

// admit counts a new connection of inst unless it already has max (0: no
// limit); it reports whether the connection was counted.
func (t *tenants) admit(inst string, max uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	tn := t.getLocked(inst)
	if max > 0 && tn.conns >= int(max) {
		return false
	}
	tn.conns++
	return true
}

// leave uncounts a connection admit counted.
func (t *tenants) leave(inst string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tn := t.getLocked(inst)
	tn.conns--
	if tn.conns == 0 && tn.rate == nil && tn.gate == nil {
		delete(t.m, inst)
	}
}

// existingGate returns the instance's stored-bytes gate, nil if it has none.
func (t *tenants) existingGate(inst string) *Gate {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tn := t.m[inst]; tn != nil {
		return tn.gate
	}
	return nil
}

// gate returns the instance's stored-bytes gate, which every connection of
// the instance on this gateway shares and the storage meter sets.
func (t *tenants) gate(inst string) *Gate {
	t.mu.Lock()
	defer t.mu.Unlock()
	tn := t.getLocked(inst)
	if tn.gate == nil {
		tn.gate = NewGate()
	}
	return tn.gate
}

// bucket returns the instance's publish-rate bucket at its share of
// perSecond, nil when perSecond is 0 (no limit). A changed quota retunes
// the shared bucket.
func (t *tenants) bucket(inst string, perSecond uint32) *rateBucket {
	t.mu.Lock()
	defer t.mu.Unlock()
	tn := t.getLocked(inst)
	tn.quota = perSecond
	if perSecond == 0 {
		tn.rate = nil
		return nil
	}
	if tn.rate == nil {
		tn.rate = newRateBucket(perSecond, time.Now())
	}
	tn.rate.setRate(t.shareLocked(inst, perSecond))
	return tn.rate
}

// setGateways records how many gateways serve inst and retunes its bucket
// to the new share.
func (t *tenants) setGateways(inst string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n <= 1 {
		delete(t.gateways, inst)
	} else {
		t.gateways[inst] = n
	}
	if tn := t.m[inst]; tn != nil && tn.rate != nil {
		tn.rate.setRate(t.shareLocked(inst, tn.quota))
	}
}

// shareLocked is this gateway's part of an instance's rate quota.
func (t *tenants) shareLocked(inst string, perSecond uint32) float64 {
	return float64(perSecond) / float64(max(1, t.gateways[inst]))
}

// rateBucket is a token bucket holding up to one second of messages. A
// publisher takes a token per message and may go into debt; the debt is
// how long its reader must stop reading, which is what paces it: the
// socket fills and TCP pushes back, nothing is dropped.
type rateBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	tokens float64
	last   time.Time
}

func newRateBucket(perSecond uint32, now time.Time) *rateBucket {
	return &rateBucket{rate: float64(perSecond), tokens: float64(perSecond), last: now}
}

// setRate retunes the bucket; tokens above the new second's worth go.
func (b *rateBucket) setRate(perSecond float64) {
	b.mu.Lock()
	b.rate = perSecond
	b.tokens = min(b.tokens, perSecond)
	b.mu.Unlock()
}

// reserve takes a token and returns how long to wait before using it.
func (b *rateBucket) reserve(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.After(b.last) { // readers on other connections may pass an older now
		b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// throttle holds the reader while the instance is past its publish rate.
// It reports false if the connection ended meanwhile. Runs on the reader,
// without dispatchMu.
func (c *Conn) throttle() bool {
	if c.rate == nil {
		return true
	}
	d := c.rate.reserve(time.Now())
	if d <= 0 {
		return true
	}
	// Not reading is the throttle; silence meanwhile is not a dead peer.
	c.gateWaiting.Store(true)
	defer c.gateWaiting.Store(false)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stopping:
		return false
	}
}
