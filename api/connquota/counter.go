package connquota

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SyncInterval is how often a gateway rereads the records of the instances
// it serves: it rewrites its entry where the record lost it (a write that
// failed while NATS was away, an entry the control plane removed while
// this gateway could not heartbeat) and learns how many gateways share
// each instance.
const SyncInterval = 5 * time.Second

// Counter keeps one gateway's entries in the records: its connections of
// each instance. The count it holds in memory is the truth for this
// gateway; the record is where other gateways see it.
//
// Writes of one instance's entry are serialized by that instance's turn,
// held across the round trip to NATS: the record is one key, so its writes
// are serial anyway, and a turn spares them the conflicts. mu guards only
// the map and the counts, never across I/O.
type Counter struct {
	kv jetstream.KeyValue
	gw string

	mu     sync.Mutex
	insts  map[string]*local // never shrinks: one small entry per instance served since start
	follow func(inst string, gateways int)
}

type local struct {
	turn     chan struct{} // holds one token while a write of the entry runs
	n        int           // guarded by Counter.mu: connections counted
	written  int           // guarded by turn: the entry as last written
	gateways int           // guarded by turn: gateways in the record as last read
}

// NewCounter counts gateway gw's connections in kv, the bucket OpenBucket
// opened.
func NewCounter(kv jetstream.KeyValue, gw string) *Counter {
	return &Counter{kv: kv, gw: gw, insts: map[string]*local{}}
}

// Follow has fn told, outside any lock, the number of gateways serving
// connections of an instance this gateway serves, whenever a read of its
// record finds it changed. Call it before the first Admit.
func (c *Counter) Follow(fn func(inst string, gateways int)) {
	c.mu.Lock()
	c.follow = fn
	c.mu.Unlock()
}

func (c *Counter) local(inst string) *local {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.insts[inst]
	if l == nil {
		l = &local{turn: make(chan struct{}, 1)}
		c.insts[inst] = l
	}
	return l
}

// Admit counts a connection of inst unless the instance already has max
// connections across the cluster (0: no limit) and reports whether it was
// counted. The count is in the record when Admit returns true without
// error. When the record cannot be read or written (NATS away, ctx ended)
// the connection is admitted on this gateway's count alone and the error
// says so; the next Sync writes it. Refusing then would lock every
// instance out while NATS is away, where admitting can pass a quota only
// by what gateways admit meanwhile.
func (c *Counter) Admit(ctx context.Context, inst string, max uint32) (bool, error) {
	l := c.local(inst)
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		c.add(l, 1)
		return true, ctx.Err()
	}
	defer func() { <-l.turn }()
	refused := false
	var want int
	counts, err := update(ctx, c.kv, inst, func(counts Counts) bool {
		want = c.count(l) + 1
		others := counts.Total() - counts[c.gw]
		refused = max > 0 && others+want > int(max)
		if refused {
			return false
		}
		counts[c.gw] = want
		return true
	})
	if err != nil {
		c.add(l, 1)
		return true, err
	}
	if !refused {
		c.add(l, 1)
		l.written = want
	}
	c.learn(inst, l, counts)
	return !refused, nil
}

// Leave uncounts a connection Admit counted. On error the record keeps
// the connection until the next Sync.
func (c *Counter) Leave(ctx context.Context, inst string) error {
	l := c.local(inst)
	c.add(l, -1)
	return c.sync(ctx, inst, l, false)
}

// Sync rereads the record of every instance this gateway counts, or
// counted at its last write, and rewrites its entry where the record does
// not hold it. It returns the first error and goes on past it.
func (c *Counter) Sync(ctx context.Context) error {
	c.mu.Lock()
	todo := maps.Clone(c.insts)
	c.mu.Unlock()
	var first error
	for inst, l := range todo {
		if err := c.sync(ctx, inst, l, true); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Run syncs every SyncInterval until ctx ends.
func (c *Counter) Run(ctx context.Context) {
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = c.Sync(ctx) // the next tick retries
		}
	}
}

// sync makes the record hold l's count. idle skips the round trip for an
// instance with no connections whose entry was already removed.
func (c *Counter) sync(ctx context.Context, inst string, l *local, idle bool) error {
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.turn }()
	var want int
	if idle && c.count(l) == 0 && l.written == 0 {
		return nil
	}
	counts, err := update(ctx, c.kv, inst, func(counts Counts) bool {
		want = c.count(l)
		if counts[c.gw] == want {
			return false
		}
		counts[c.gw] = want
		if want == 0 {
			delete(counts, c.gw)
		}
		return true
	})
	if err != nil {
		return err
	}
	l.written = want
	c.learn(inst, l, counts)
	return nil
}

// learn tells Follow's fn how many gateways serve inst as of counts, if
// that changed. Called holding l's turn.
func (c *Counter) learn(inst string, l *local, counts Counts) {
	n := len(counts)
	if n == l.gateways {
		return
	}
	l.gateways = n
	c.mu.Lock()
	fn := c.follow
	c.mu.Unlock()
	if fn != nil {
		fn(inst, n)
	}
}

func (c *Counter) count(l *local) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return l.n
}

func (c *Counter) add(l *local, d int) {
	c.mu.Lock()
	l.n += d
	c.mu.Unlock()
}
