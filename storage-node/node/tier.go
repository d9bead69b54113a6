package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/tier"
)

// tiering is the node's side of tiering cold queue data to the object
// store (TIERING.md): the node-wide bounds and counters, and the workers
// that do the object-store I/O off the shard goroutines. Each shard drives
// the tier.Queue of its queues (shard_tier.go); the workers report back
// through shard.post. nil when Options.ObjectStore is nil.
//
// Every field is safe for concurrent use: atomics, the channels, and
// backoff.mu (a leaf lock, never held across I/O).
type tiering struct {
	n     *Node
	store objstore.Store
	cfg   tier.Config
	nid   uint64 // the node's object-store id, for object keys

	gen  atomic.Uint64 // last tier.Queue generation handed out
	seq  atomic.Uint64 // last upload of this boot: object keys never repeat
	hot  atomic.Int64  // hot bytes of all queues (tier.Span.Weight)
	hotN atomic.Int64  // hot messages of all queues
	// nudge (capacity 1) wakes the alarm monitor when a shard moved hot
	// across a mark of the hot-budget alarm (hotMoved).
	nudge chan struct{}
	// readAhead is the sum of the queues' tier.Queue.ReadAheadBytes:
	// cached blocks and indexes, reads in flight and reads waiting in the
	// fetch FIFO. The fetch pool starts a read only while what is held
	// (readAhead minus what waits) leaves room for it.
	readAhead atomic.Int64
	slots     atomic.Int32 // uploads in flight, at most cfg.Uploaders
	// busy counts the tier's work in progress: uploads and reads handed
	// out, posts of their results and of slot retries, backoff timers,
	// objects to delete (from their delete intent to their Delete) and
	// the startup sweep. A shard takes finished work off at the end of
	// the iteration that applied it (shard.tierDone), after adding the
	// work it planned, so at 0 nothing in the tier will act by itself
	// (tests wait for it).
	busy atomic.Int64

	ops     tierOps        // object-store operations, counted by t.store (meteredStore)
	uploads chan uploadJob // capacity cfg.Uploaders: slots bound it, a send never blocks
	fetch   *fetchPool
	del     *deleter
	backoff struct {
		mu    sync.Mutex
		fails int
		until time.Time
	}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Backoff of uploads after a failed Put, node-wide (TIERING.md §6), and
// of every other retried store call.
const (
	minTierBackoff = 100 * time.Millisecond
	maxTierBackoff = 30 * time.Second
)

// retryTier calls attempt until it reports done, waiting between tries
// from minTierBackoff, doubling up to maxTierBackoff; failed logs a try
// that failed, with the wait before the next. It reports false when ctx
// ends first (the node is stopping).
func retryTier(ctx context.Context, attempt func() (done bool, err error), failed func(err error, wait time.Duration)) bool {
	wait := minTierBackoff
	for {
		done, err := attempt()
		if done {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		failed(err, wait)
		if sleepCtx(ctx, wait) != nil {
			return false
		}
		wait = min(2*wait, maxTierBackoff)
	}
}

func newTiering(n *Node) *tiering {
	cfg := n.opts.Tier.WithDefaults()
	t := &tiering{n: n, store: n.opts.ObjectStore, cfg: cfg, nid: n.db.NodeID(),
		uploads: make(chan uploadJob, cfg.Uploaders), nudge: make(chan struct{}, 1)}
	t.store = meteredStore{t.store, &t.ops}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.fetch = newFetchPool(t)
	t.del = newDeleter(t)
	return t
}

// start runs the uploaders, the fetchers and the deleter.
func (t *tiering) start() {
	t.wg.Add(1)
	go t.del.run()
	for range t.cfg.Uploaders {
		t.wg.Add(1)
		go t.runUploader()
	}
	for range t.cfg.Fetchers {
		t.wg.Add(1)
		go t.fetch.run()
	}
}

// stop ends the workers: an upload or a read in progress is abandoned (its
// intents are what a restart cleans up after), its result never posted.
func (t *tiering) stop() {
	t.cancel()
	t.fetch.close()
	t.wg.Wait()
}

// takeSlot reserves an uploader slot, if one is free and the store is not
// in backoff.
func (t *tiering) takeSlot() bool {
	if t.inBackoff() {
		return false
	}
	for {
		n := t.slots.Load()
		if int(n) >= t.cfg.Uploaders {
			return false
		}
		if t.slots.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// giveSlot returns a slot; with freed, the shards retry the queues that
// found none.
func (t *tiering) giveSlot(freed bool) {
	t.slots.Add(-1)
	if freed {
		t.retryPicks()
	}
}

// retryPicks asks every shard to try the uploads it could not start.
func (t *tiering) retryPicks() {
	for _, s := range t.n.shards {
		t.busy.Add(1)
		s.post(func(s *shard) {
			s.retryPicks()
			s.tierDone++
		})
	}
}

func (t *tiering) inBackoff() bool {
	t.backoff.mu.Lock()
	defer t.backoff.mu.Unlock()
	return t.backoff.fails > 0 && t.n.opts.Clock.Now().Before(t.backoff.until)
}

// putFailed starts or lengthens the backoff; shards skip picking until it
// ends, then retry.
func (t *tiering) putFailed() {
	t.backoff.mu.Lock()
	d := min(minTierBackoff<<min(t.backoff.fails, 20), maxTierBackoff)
	t.backoff.fails++
	t.backoff.until = t.n.opts.Clock.Now().Add(d)
	t.backoff.mu.Unlock()
	t.busy.Add(1)
	t.n.opts.Clock.AfterFunc(d, func() {
		t.retryPicks()
		t.busy.Add(-1)
	})
}

// storeUp reports false while uploads back off after a failed Put.
func (t *tiering) storeUp() bool {
	t.backoff.mu.Lock()
	defer t.backoff.mu.Unlock()
	return t.backoff.fails == 0
}

// putSucceeded ends the backoff.
func (t *tiering) putSucceeded() {
	t.backoff.mu.Lock()
	t.backoff.fails = 0
	t.backoff.mu.Unlock()
}

// scan reports whether the node is over half its hot budget: then queues
// offload even under QueueHotBytes (tier.Queue.Pick's scan mode).
func (t *tiering) scan() bool { return t.hot.Load() > t.cfg.HotBytes/2 }

// tierSource adapts a queue.Queue to tier.Source.
type tierSource struct{ q *queue.Queue }

var _ tier.Source = tierSource{}

func (s tierSource) Disk(lane uint8) (storage.MsgID, tier.Span, tier.Span) {
	from, durable, spill := s.q.Disk(lane)
	return from, tier.Span(durable), tier.Span(spill)
}

func (s tierSource) NextID() storage.MsgID { return s.q.NextID() }

func (s tierSource) Floor(lane uint8) storage.MsgID { return s.q.Floor(lane) }

func (s tierSource) LiveIn(lane uint8, from, to storage.MsgID) bool {
	return s.q.LiveIn(lane, from, to)
}
