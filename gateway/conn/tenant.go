package conn

import (
	"sync"
	"time"
)

// tenants is this gateway's state per instance: its open connections, for
// the max_connections quota, and its publish-rate bucket.
//
// Several gateways do not share it: each enforces an instance's quotas on
// its own connections, so G gateways admit up to G × max_connections and
// G × max_publish_rate (README "Quotas"). Exact cluster-wide counts would
// put a NATS round trip in every connection open.
type tenants struct {
	mu sync.Mutex
	m  map[string]*tenant
}

type tenant struct {
	conns int
	rate  *rateBucket // nil until the instance has a rate quota
	gate  *Gate       // shut while the instance is past max_stored_bytes
}

func newTenants() *tenants { return &tenants{m: map[string]*tenant{}} }

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

// bucket returns the instance's publish-rate bucket at perSecond, nil when
// perSecond is 0 (no limit). A changed quota retunes the shared bucket.
func (t *tenants) bucket(inst string, perSecond uint32) *rateBucket {
	t.mu.Lock()
	defer t.mu.Unlock()
	tn := t.getLocked(inst)
	if perSecond == 0 {
		tn.rate = nil
		return nil
	}
	if tn.rate == nil {
		tn.rate = newRateBucket(perSecond, time.Now())
	}
	tn.rate.setRate(perSecond)
	return tn.rate
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

func (b *rateBucket) setRate(perSecond uint32) {
	b.mu.Lock()
	b.rate = float64(perSecond)
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
