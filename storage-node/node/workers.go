package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
)

// eventWorker calls Events.QueueUnused from its own goroutine, so a
// control plane that reacts by calling DeleteQueue never deadlocks a shard.
type eventWorker struct {
	ev storage.Events
	mu struct {
		sync.Mutex
		pending []unusedEvent
	}
	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

type unusedEvent struct {
	q      storage.QueueID
	reason string
}

func newEventWorker(ev storage.Events) *eventWorker {
	w := &eventWorker{ev: ev, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *eventWorker) push(q storage.QueueID, reason string) {
	if w.ev == nil {
		return
	}
	w.mu.Lock()
	w.mu.pending = append(w.mu.pending, unusedEvent{q, reason})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *eventWorker) run() {
	defer close(w.done)
	for {
		select {
		case <-w.wake:
		case <-w.quit:
			return
		}
		w.mu.Lock()
		evs := w.mu.pending
		w.mu.pending = nil
		w.mu.Unlock()
		for _, e := range evs {
			w.ev.QueueUnused(e.q, e.reason)
		}
	}
}

func (w *eventWorker) stop() {
	close(w.quit)
	<-w.done
}

// outboxWorker drains the dead-letter outbox: it reads each shard's range
// in order, hands the entries to the DeadLetterer (no lock held: it may
// call back into this node's Append), and deletes them once it returned
// nil, retrying with backoff otherwise. Entries of transient messages
// written before the last restart are dropped unrouted, like the messages
// they came from.
type outboxWorker struct {
	n      *Node
	from   map[uint8]uint64 // next seq to read, per shard range
	wakeCh chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// Outbox bounds.
const (
	outboxBatch      = 128
	outboxMinBackoff = 50 * time.Millisecond
	outboxMaxBackoff = 5 * time.Second
)

func newOutboxWorker(n *Node) *outboxWorker {
	ctx, cancel := context.WithCancel(context.Background())
	return &outboxWorker{n: n, from: map[uint8]uint64{}, wakeCh: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// init finds the ranges holding entries and sets each shard's next seq.
func (o *outboxWorker) init() error {
	ranges, err := o.n.db.OutboxShards()
	if err != nil {
		return fmt.Errorf("scan dead-letter outbox: %w", err)
	}
	for _, r := range ranges {
		o.from[r] = 0
	}
	for _, s := range o.n.shards {
		end, err := o.n.db.OutboxEnd(uint8(s.idx))
		if err != nil {
			return fmt.Errorf("scan dead-letter outbox: %w", err)
		}
		s.outboxSeq = end
		o.from[uint8(s.idx)] = 0
	}
	return nil
}

func (o *outboxWorker) start() { go o.run() }

func (o *outboxWorker) wake() {
	select {
	case o.wakeCh <- struct{}{}:
	default:
	}
}

func (o *outboxWorker) stop() {
	o.cancel()
	<-o.done
}

func (o *outboxWorker) run() {
	defer close(o.done)
	for {
		progressed := false
		for r := range o.from {
			ok, err := o.drainOne(r)
			if err != nil {
				return // stopping
			}
			progressed = progressed || ok
		}
		if progressed {
			continue
		}
		select {
		case <-o.wakeCh:
		case <-o.ctx.Done():
			return
		}
	}
}

// drainOne routes one batch of range r; it reports whether there was one.
// A non-nil error means the worker is stopping.
func (o *outboxWorker) drainOne(r uint8) (bool, error) {
	entries, err := o.n.db.ReadOutbox(r, o.from[r], outboxBatch)
	if err != nil {
		o.n.opts.Logger.Error("read dead-letter outbox", "err", err)
		return false, sleepCtx(o.ctx, outboxMaxBackoff)
	}
	if len(entries) == 0 {
		return false, nil
	}
	dls := make([]storage.DeadLetter, 0, len(entries))
	for _, e := range entries {
		if e.Durable || e.Boot == o.n.boot {
			dls = append(dls, e.DL)
		}
	}
	if err := o.route(dls); err != nil {
		return false, err
	}
	o.delete(r, entries)
	o.from[r] = entries[len(entries)-1].Seq + 1
	return true, nil
}

// route calls the DeadLetterer until it succeeds or the worker stops.
func (o *outboxWorker) route(dls []storage.DeadLetter) error {
	if len(dls) == 0 || o.n.opts.DeadLetterer == nil {
		return nil
	}
	backoff := outboxMinBackoff
	for {
		err := o.n.opts.DeadLetterer.DeadLetter(o.ctx, dls)
		if err == nil {
			o.n.m.deadLetterOut.Add(uint64(len(dls)))
			return nil
		}
		o.n.opts.Logger.Warn("dead-letter routing failed; retrying", "err", err, "backoff", backoff)
		if err := sleepCtx(o.ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, outboxMaxBackoff)
	}
}

// sleepCtx waits for d; it returns ctx's error if ctx ends first (the
// node is stopping). Every retry loop of the node's workers waits with it.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// delete removes routed entries. NoSync: losing the delete in a crash
// routes them again (a duplicate), never loses them.
func (o *outboxWorker) delete(r uint8, entries []pebblestore.OutboxEntry) {
	b := o.n.db.NewBatch()
	for _, e := range entries {
		b.DeleteOutbox(r, e.Seq)
	}
	if err := o.n.db.Pebble().Apply(b.Pebble(), pebble.NoSync); err != nil {
		o.n.fail(err)
	}
	_ = b.Pebble().Close()
}
