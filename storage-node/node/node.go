// Package node is the storage node: it runs the queue state machines of
// package queue on Pebble (package pebblestore) and implements
// storage.Node for gateways, in-process or behind gRPC.
//
// # Goroutines and what they own
//
//   - shard (Options.Shards of them): owns the queues whose ID maps to it
//     (the queue.Queue values, their timers, their cache accounting) and a
//     pending Pebble batch. It drains its inbox of commands, applies them in
//     order, then ends the iteration: flushes queue metadata, commits the
//     batch (NoSync, or with Sync when a durable write or a durable delivery
//     mark needs it), answers the callers that need no fsync, and stages
//     deliveries into sessions. It never blocks on a session, a sink, the
//     dead-letter worker or an fsync. A basic.get whose queue cannot read
//     its next message yet (queue.ErrNotReady) is parked in the queue's
//     qstate until a worker posts that the queue may read again
//     (postResume); workers reach a shard through shard.post, never
//     through the bounded inbox.
//   - committer (one per shard): waits for the fsync of the shard's synced
//     batches in order (Pebble's WAL writer groups every concurrent sync
//     into one fsync, and gathers the next group while one is in progress:
//     that is the group commit), then answers the Append callers, pushes
//     deliveries that had to wait for the fsync, and posts the durable
//     delivery mark back to the shard.
//   - session (one per OpenSession): calls its Sink, serialized, from a
//     double-buffered outbox; it grants credit back for unlimited consumers.
//     Credit bounds what the outbox holds.
//   - outbox worker: drains the dead-letter outbox through the DeadLetterer
//     with no lock held, retrying with backoff.
//   - events worker: calls Events.QueueUnused.
//   - alarm monitor: samples heap and free disk.
//   - tier uploaders and fetchers (only with Options.ObjectStore): an
//     uploader reads a run of a queue's records from Pebble, builds a
//     segment, writes its upload intent (synced) and puts it; a fetcher
//     reads a segment's index or a block of its records. Both post their
//     results to the queue's shard, which owns the queue's tier.Queue and
//     hands out work only after committing the batch that planned it
//     (shard_tier.go). Reads wait in one FIFO while the node's read-ahead
//     is spent (fetchPool.mu guards it).
//   - tier deleter (one): deletes the objects whose delete intents are
//     durable, in order, then the intents (deleter.mu guards its queue);
//     the committer hands it the keys of a shard's synced batch. The
//     startup sweep (one, runs once) lists the node's objects and hands
//     it the orphans of earlier boots.
//
// Nothing holds a lock across I/O. The locks are leaves: Node.reg.mu,
// Node.sessions.mu, session.mu, committer.mu, shard.posts.mu,
// tiering.backoff.mu, fetchPool.mu, deleter.mu, each guarding only its own fields and
// never held while taking another.
package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
)

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("storage node closed")

// Node is a storage node. It implements storage.Node.
type Node struct {
	opts   Options
	dir    string
	db     *pebblestore.DB
	boot   uint64
	shards []*shard
	outbox *outboxWorker
	events *eventWorker
	alarms *alarmMonitor
	tier   *tiering // nil when Options.ObjectStore is nil

	cached  atomic.Int64 // bytes of cached ready messages, all queues
	sessSeq atomic.Uint64
	failed  atomic.Pointer[error] // first fatal store error
	closed  atomic.Bool
	stopped chan struct{} // closed once the shards have exited

	reg      registry
	sessions struct {
		mu  sync.Mutex
		all map[*session]struct{}
	}
	m counters
}

var _ storage.Node = (*Node)(nil)

// Open opens (or creates) the node's store in dir and recovers its durable
// queues: each comes back from its spec and counters without reading its
// messages; transient messages and non-durable queues are gone.
func Open(dir string, opts Options) (*Node, error) {
	opts = opts.withDefaults()
	db, err := pebblestore.Open(dir, pebblestore.Options{
		FS: opts.FS, BlockCacheBytes: opts.BlockCacheBytes, MemTableBytes: opts.MemTableBytes,
	})
	if err != nil {
		return nil, err
	}
	n := &Node{opts: opts, dir: dir, db: db, stopped: make(chan struct{})}
	n.sessions.all = map[*session]struct{}{}
	n.reg.init()
	if opts.ObjectStore != nil {
		n.tier = newTiering(n)
	}
	if err := n.recover(); err != nil {
		_ = db.Close()
		return nil, err
	}
	n.outbox = newOutboxWorker(n)
	if err := n.outbox.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	n.events = newEventWorker(opts.Events)
	if n.tier != nil {
		if err := n.tier.del.pushIntents(); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("read delete intents: %w", err)
		}
		n.tier.start()
	}
	for _, s := range n.shards {
		s.start()
	}
	if n.tier != nil {
		n.tier.startSweep()
	}
	n.outbox.start()
	n.alarms = newAlarmMonitor(n)
	return n, nil
}

// recover creates the shards and fills them with the durable queues.
func (n *Node) recover() error {
	boot, err := n.db.Boot()
	if err != nil {
		return fmt.Errorf("read boot counter: %w", err)
	}
	n.boot = boot
	found, err := n.db.Recover()
	if err != nil {
		return fmt.Errorf("recover queues: %w", err)
	}
	n.shards = make([]*shard, n.opts.Shards)
	for i := range n.shards {
		n.shards[i] = newShard(n, i)
	}
	now := n.nowMs()
	for _, r := range found {
		s := n.shardOf(r.Spec.ID)
		q := queue.Recover(r.Spec, r.Meta, n.opts.queueConfig(), s.loader(), s, now)
		qs := s.adopt(q)
		n.reg.add(&r.Spec)
		if qs.tq == nil && len(r.Segments) > 0 {
			// Reading only Pebble would count the tiered records as lost.
			return fmt.Errorf("queue %d has %d segments in the object store, and no ObjectStore is configured",
				r.Spec.ID, len(r.Segments))
		}
		if qs.tq == nil {
			continue
		}
		if err := qs.tq.Restore(r.Segments, tierSource{q}); err != nil {
			return fmt.Errorf("recover queue %d: %w", r.Spec.ID, err)
		}
	}
	return nil
}

// Close stops the node: consumers are cancelled (Sink.Cancelled), every
// shard flushes and syncs what it holds, the workers stop and Pebble is
// closed. Unacked messages stay stored and come back redelivered on the
// next Open. Calls made after Close return ErrClosed.
func (n *Node) Close() error {
	if !n.closed.CompareAndSwap(false, true) {
		return nil
	}
	n.alarms.stop()
	n.cancelSessions()
	if n.tier != nil {
		n.tier.stop()
	}
	var errs []error
	for _, s := range n.shards {
		errs = append(errs, s.stop())
	}
	close(n.stopped)
	n.outbox.stop()
	n.events.stop()
	errs = append(errs, n.db.Close())
	return errors.Join(errs...)
}

func (n *Node) shardOf(q storage.QueueID) *shard {
	return n.shards[uint64(q)%uint64(len(n.shards))]
}

func (n *Node) nowMs() int64 { return n.opts.Clock.Now().UnixMilli() }

// usable reports ErrClosed or the first fatal store error.
func (n *Node) usable() error {
	if n.closed.Load() {
		return ErrClosed
	}
	if p := n.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// failure is the first fatal store error, or nil.
func (n *Node) failure() error {
	if p := n.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// fail records a fatal store error; the node refuses further work.
func (n *Node) fail(err error) {
	err = fmt.Errorf("storage node failed: %w", err)
	if n.failed.CompareAndSwap(nil, &err) {
		n.opts.Logger.Error("storage node failed", "err", err)
	}
}

// send queues a command to a shard.
func (n *Node) send(ctx context.Context, s *shard, c cmd) error {
	if err := n.usable(); err != nil {
		return err
	}
	select {
	case s.inbox <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.stopped:
		return ErrClosed
	}
}

// call sends a command and waits for its reply.
func (n *Node) call(ctx context.Context, s *shard, c cmd) (result, error) {
	c.resp = make(chan result, 1)
	if err := n.send(ctx, s, c); err != nil {
		return result{}, err
	}
	select {
	case r := <-c.resp:
		return r, r.err
	case <-ctx.Done():
		return result{}, ctx.Err()
	case <-n.stopped:
		return result{}, ErrClosed
	}
}

// registry knows the names of the node's queues (and of recently deleted
// ones) for error texts, and which queues exist for publishes that span
// shards.
type registry struct {
	mu      sync.RWMutex
	gen     uint64 // counts the changes of live
	live    map[storage.QueueID]*storage.QueueSpec
	gone    map[storage.QueueID]*storage.QueueSpec
	goneFIF []storage.QueueID
}

// maxTombstones bounds how many deleted queues keep their names.
const maxTombstones = 4096

func (r *registry) init() {
	r.live = map[storage.QueueID]*storage.QueueSpec{}
	r.gone = map[storage.QueueID]*storage.QueueSpec{}
}

func (r *registry) add(spec *storage.QueueSpec) {
	s := *spec
	r.mu.Lock()
	r.live[s.ID] = &s
	r.gen++
	r.mu.Unlock()
}

func (r *registry) remove(id storage.QueueID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.live[id]; ok {
		delete(r.live, id)
		r.gen++
		r.gone[id] = s
		r.goneFIF = append(r.goneFIF, id)
		if len(r.goneFIF) > maxTombstones {
			delete(r.gone, r.goneFIF[0])
			r.goneFIF = r.goneFIF[1:]
		}
	}
}

// declared returns the spec a live queue was created with.
func (r *registry) declared(id storage.QueueID) (storage.QueueSpec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if s, ok := r.live[id]; ok {
		return *s, true
	}
	return storage.QueueSpec{}, false
}

func (r *registry) exists(id storage.QueueID) bool {
	r.mu.RLock()
	_, ok := r.live[id]
	r.mu.RUnlock()
	return ok
}

func (r *registry) count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.live)
}

// notFound is the 404 for a queue this node does not have, in RabbitMQ's
// words when the name is known.
func (n *Node) notFound(id storage.QueueID) error {
	n.reg.mu.RLock()
	s := n.reg.gone[id]
	if s == nil {
		s = n.reg.live[id]
	}
	n.reg.mu.RUnlock()
	if s != nil {
		return reply.NotFoundQueue(s.VHost, s.Name)
	}
	return reply.Errorf(reply.NotFound, "no queue with id %d on this storage node", id)
}
