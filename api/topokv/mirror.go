package topokv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
)

// Mirror is an in-memory copy of the topology bucket, kept current by a KV
// watch. Readers see a consistent Index under a read lock; WaitFor gives
// read-your-writes: a writer that got revision R back from KV waits until the
// mirror has applied R before answering its client.
//
// Concurrency: the watch goroutine is the only writer; mu guards everything
// below it.
type Mirror struct {
	mu struct {
		sync.RWMutex
		instances map[string]*route.Index
		queueInst map[storage.QueueID]string // every queue's instance, by ID
		access    map[string]*Access
		bindings  map[string]topology.Binding // by KV key, to undo on delete
		rev       uint64
		err       error
		changed   chan struct{} // closed and replaced on every applied revision
	}
	log    *slog.Logger
	resume chan struct{} // Resume's request for a new watch; holds at most one
	// accessGen counts applied changes to instance, vhost, user and
	// permission records. It is read without the lock: a gateway compares
	// it on every permission check to know whether its cached decisions
	// still hold, and must not take mu on the publish path for that.
	accessGen atomic.Uint64
}

// OpenBucket creates the topology bucket if needed and returns it.
func OpenBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, History: 1, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// checkEvery is how often the mirror compares its revision with the
// bucket's. A watch can go quiet without closing (its consumer lost when
// the NATS server restarted); two checks in a row that find the mirror
// behind, with no progress between them, start a new watch where it left off.
const checkEvery = 2 * time.Second

// Watch starts mirroring kv and returns once the initial contents are loaded.
// The watch runs until ctx ends.
func Watch(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) (*Mirror, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", Bucket, err)
	}
	m := &Mirror{log: log, resume: make(chan struct{}, 1)}
	m.mu.instances = map[string]*route.Index{}
	m.mu.queueInst = map[storage.QueueID]string{}
	m.mu.access = map[string]*Access{}
	m.mu.bindings = map[string]topology.Binding{}
	m.mu.changed = make(chan struct{})
	loaded := make(chan struct{})
	go m.run(ctx, kv, w, loaded)
	select {
	case <-loaded:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (m *Mirror) run(ctx context.Context, kv jetstream.KeyValue, w jetstream.KeyWatcher, loaded chan struct{}) {
	defer func() {
		if w != nil {
			_ = w.Stop()
		}
	}()
	check := time.NewTicker(checkEvery)
	defer check.Stop()
	initial := true
	var stall stallCheck
	for {
		select {
		case <-ctx.Done():
			m.fail(ctx.Err())
			return
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					continue // the ctx.Done case ends the loop
				}
				if w = m.rewatch(ctx, kv, w, "watch closed"); w == nil {
					m.fail(errors.New("topology watch closed"))
					return
				}
				continue
			}
			if e == nil { // end of the initial values
				if initial {
					initial = false
					close(loaded)
				}
				continue
			}
			m.apply(e)
		case <-m.resume:
			if initial {
				continue // the first watch is still loading; it is new already
			}
			if w = m.rewatch(ctx, kv, w, "nats reconnected"); w == nil {
				m.fail(errors.New("topology watch closed"))
				return
			}
		case <-check.C:
			if initial {
				continue
			}
			last, ok := lastRevision(ctx, kv)
			if !stall.stuck(last, ok, m.Revision()) {
				continue
			}
			if w = m.rewatch(ctx, kv, w, "watch stalled"); w == nil {
				m.fail(errors.New("topology watch closed"))
				return
			}
		}
	}
}

// Resume starts a new watch where the mirror left off. Call it when the
// NATS connection comes back: a server restart can leave the old watch
// quiet without closing it, and the stall check alone would notice only
// seconds after the next change, long enough for a publish or a dead
// letter to be routed with the old topology.
func (m *Mirror) Resume() {
	select {
	case m.resume <- struct{}{}:
	default: // one is pending already
	}
}

// stallCheck tells a stalled watch from a busy bucket: the watch is stuck
// when the mirror lags the bucket at two checks in a row without having
// applied anything between them, however much the bucket moved meanwhile.
type stallCheck struct {
	lagging bool
	at      uint64 // the mirror's revision when it was first seen lagging
}

// stuck takes one check: the bucket's last revision (ok false when it could
// not be read) and the mirror's; true means restart the watch.
func (c *stallCheck) stuck(last uint64, ok bool, rev uint64) bool {
	switch {
	case !ok || last <= rev:
		c.lagging = false
	case !c.lagging || rev != c.at:
		c.lagging, c.at = true, rev
	default:
		c.lagging = false
		return true
	}
	return false
}

// rewatch replaces a closed or stalled watch with one that resumes after
// the last applied revision; it keeps trying until ctx ends. It returns
// nil when the NATS connection is closed for good (the process is
// stopping): there is nothing left to watch.
func (m *Mirror) rewatch(ctx context.Context, kv jetstream.KeyValue, old jetstream.KeyWatcher, why string) jetstream.KeyWatcher {
	_ = old.Stop()
	for {
		rev := m.Revision()
		w, err := kv.WatchAll(ctx, jetstream.ResumeFromRevision(rev+1))
		if err == nil {
			m.log.Warn("topology: KV watch restarted", "reason", why, "revision", rev)
			return w
		}
		if errors.Is(err, nats.ErrConnectionClosed) || ctx.Err() != nil {
			return nil
		}
		m.log.Warn("topology: KV watch failed; retrying", "reason", why, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(checkEvery):
		}
	}
}

// lastRevision is the bucket's newest revision, ok false when unreadable.
func lastRevision(ctx context.Context, kv jetstream.KeyValue) (uint64, bool) {
	ctx, cancel := context.WithTimeout(ctx, checkEvery)
	defer cancel()
	rev, err := LastRevision(ctx, kv)
	return rev, err == nil
}

// WaitLatest waits until the mirror holds the bucket's newest revision:
// what a writer that deleted waits for, and a reader that must see every
// change made before it asked.
func (m *Mirror) WaitLatest(ctx context.Context, kv jetstream.KeyValue) error {
	rev, err := LastRevision(ctx, kv)
	if err != nil {
		return err
	}
	if err := m.WaitFor(ctx, rev); err != nil {
		return fmt.Errorf("topology mirror at revision %d: %w", rev, err)
	}
	return nil
}

// LastRevision is the bucket's newest revision. KV deletes do not return
// theirs; a writer that deleted waits for this one to see its deletes
// applied.
func LastRevision(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("kv status: %w", err)
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, errors.New("kv status: unexpected type")
	}
	return bs.StreamInfo().State.LastSeq, nil
}

func (m *Mirror) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.err = err
	close(m.mu.changed)
	m.mu.changed = make(chan struct{})
}

// apply folds one KV entry into the index.
func (m *Mirror) apply(e jetstream.KeyValueEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.applyLocked(e); err != nil {
		m.log.Error("topology: skipping bad record", "key", e.Key(), "err", err)
	}
	m.mu.rev = max(m.mu.rev, e.Revision())
	close(m.mu.changed)
	m.mu.changed = make(chan struct{})
}

func (m *Mirror) applyLocked(e jetstream.KeyValueEntry) error {
	pk, ok := parseKey(e.Key())
	if !ok {
		return errors.New("unparseable key")
	}
	if isAccessKind(pk.kind) || pk.kind == kindVHost {
		// Bumped after the change, under mu: a reader that loads the
		// generation before reading the records never holds stale records
		// under the current generation.
		defer m.accessGen.Add(1)
	}
	if isAccessKind(pk.kind) {
		return m.applyAccessLocked(pk, e)
	}
	ix := m.indexLocked(pk.inst)
	if e.Operation() != jetstream.KeyValuePut {
		m.removeLocked(ix, pk, e.Key())
		return nil
	}
	return m.putLocked(ix, pk, e.Key(), e.Value())
}

// indexLocked is the instance's index, made on first use.
func (m *Mirror) indexLocked(inst string) *route.Index {
	ix := m.mu.instances[inst]
	if ix == nil {
		ix = route.NewIndex()
		m.mu.instances[inst] = ix
	}
	return ix
}

func (m *Mirror) putLocked(ix *route.Index, pk parsedKey, key string, val []byte) error {
	switch pk.kind {
	case kindVHost:
		v, err := DecodeVHost(val)
		if err != nil {
			return err
		}
		v.Name = pk.vhost
		ix.PutVHost(v)
	case kindExchange:
		x, err := DecodeExchange(val)
		if err != nil {
			return err
		}
		ix.PutExchange(x)
	case kindQueue:
		q, err := DecodeQueue(val)
		if err != nil {
			return err
		}
		if old, ok := ix.Queue(q.VHost, q.Name); ok {
			delete(m.mu.queueInst, old.ID) // a new incarnation under the same name
		}
		ix.PutQueue(q)
		m.mu.queueInst[q.ID] = pk.inst
	case kindBinding:
		b, err := DecodeBinding(val)
		if err != nil {
			return err
		}
		m.mu.bindings[key] = b
		ix.PutBinding(pk.name, b)
	}
	return nil
}

func (m *Mirror) removeLocked(ix *route.Index, pk parsedKey, key string) {
	switch pk.kind {
	case kindVHost:
		ix.DeleteVHost(pk.vhost)
	case kindExchange:
		ix.DeleteExchange(pk.vhost, pk.name)
	case kindQueue:
		if old, ok := ix.Queue(pk.vhost, pk.name); ok {
			delete(m.mu.queueInst, old.ID)
		}
		ix.DeleteQueue(pk.vhost, pk.name)
	case kindBinding:
		if b, ok := m.mu.bindings[key]; ok {
			ix.DeleteBinding(pk.name, b)
			delete(m.mu.bindings, key)
		}
	}
}

// Read runs fn with the instance's index under the read lock. fn must not
// block or keep the index. An unknown instance reads as empty.
func (m *Mirror) Read(inst string, fn func(ix *route.Index)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ix := m.mu.instances[inst]
	if ix == nil {
		ix = emptyIndex
	}
	fn(ix)
}

var emptyIndex = route.NewIndex()

// QueueInstance returns the instance whose topology holds the queue with
// storage ID id, ok false when no instance holds it (deleted, or not yet
// mirrored). Storage nodes know queues by ID alone (unused, expired, the
// source of a dead letter); this finds whose they are, in one map lookup.
func (m *Mirror) QueueInstance(id storage.QueueID) (inst string, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	inst, ok = m.mu.queueInst[id]
	return inst, ok
}

// AccessGeneration changes whenever an instance, vhost, user or
// permission record changes, in any instance. What was derived from those
// records (a verified login, compiled permissions, a vhost check) holds
// while the generation is the one loaded before reading them. It costs one atomic
// load, so it may be checked on every publish.
func (m *Mirror) AccessGeneration() uint64 { return m.accessGen.Load() }

// Revision is the last KV revision applied.
func (m *Mirror) Revision() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.mu.rev
}

// WaitFor blocks until the mirror has applied revision rev, the watch fails,
// or ctx ends.
func (m *Mirror) WaitFor(ctx context.Context, rev uint64) error {
	for {
		m.mu.RLock()
		cur, err, changed := m.mu.rev, m.mu.err, m.mu.changed
		m.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
