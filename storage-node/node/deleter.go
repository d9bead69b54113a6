package node

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/pebblestore"
)

// deleter deletes objects from the store on one goroutine, in the order
// it gets them (TIERING.md §3 "Delete"): dead segments, the objects of
// deleted queues and of failed or aborted uploads, the delete intents
// found at startup, and the orphans of the List sweep. Each object named
// by a delete intent is deleted before its intent, so a crash at any
// point leaves the intent and the next startup deletes it again (Delete
// is idempotent).
//
// The keys it holds are bounded by the delete intents in Pebble plus the
// sweep's orphans; mu guards pending (a leaf lock, never held across
// I/O).
type deleter struct {
	t  *tiering
	mu struct {
		sync.Mutex
		pending []delItem
	}
	wake chan struct{} // capacity 1: pending grew

	// orphans counts the objects the sweep found in no table and no
	// intent (Metrics.TierOrphans); the store's wrapper counts Deletes.
	orphans atomic.Uint64
}

// delItem is an object to delete; intent: a delete intent names it, to
// remove once the object is gone.
type delItem struct {
	key    string
	intent bool
}

func newDeleter(t *tiering) *deleter {
	return &deleter{t: t, wake: make(chan struct{}, 1)}
}

// push queues objects to delete. The caller has counted each in
// tiering.busy; the deleter takes it off once the object is deleted.
func (d *deleter) push(items ...delItem) {
	d.mu.Lock()
	d.mu.pending = append(d.mu.pending, items...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// pushIntents queues the delete intents Pebble holds: at startup, every
// object a table no longer names (Recover turned upload intents and
// transient tables into delete intents).
func (d *deleter) pushIntents() error {
	keys, err := d.t.n.db.Intents(pebblestore.IntentDelete)
	if err != nil {
		return err
	}
	d.t.busy.Add(int64(len(keys)))
	d.pushIntentKeys(keys)
	return nil
}

// pushIntentKeys queues keys whose delete intents Pebble holds durably.
func (d *deleter) pushIntentKeys(keys []string) {
	items := make([]delItem, len(keys))
	for i, k := range keys {
		items[i] = delItem{key: k, intent: true}
	}
	d.push(items...)
}

func (d *deleter) run() {
	defer d.t.wg.Done()
	var items []delItem
	for {
		d.mu.Lock()
		items, d.mu.pending = d.mu.pending, items[:0]
		d.mu.Unlock()
		for i := range items {
			if !d.delete(items[i]) {
				return
			}
			items[i] = delItem{}
		}
		select {
		case <-d.wake:
		case <-d.t.ctx.Done():
			return
		}
	}
}

// delete deletes one object, retrying until the store accepts it, then
// its intent (NoSync: a lost removal only repeats the Delete after a
// restart). It reports false when the node stops: the intent stays.
func (d *deleter) delete(it delItem) bool {
	crashPoint(crashBeforeDelete)
	if !d.deleteRetrying(it.key) {
		return false
	}
	crashPoint(crashAfterDelete)
	if it.intent {
		b := d.t.n.db.NewBatch()
		b.DeleteIntent(pebblestore.IntentDelete, it.key)
		if err := d.t.n.db.Pebble().Apply(b.Pebble(), pebble.NoSync); err != nil {
			d.t.n.fail(err)
		}
		_ = b.Pebble().Close()
	}
	d.t.busy.Add(-1)
	return true
}

// deleteRetrying calls Delete until it succeeds, with backoff from
// minTierBackoff to maxTierBackoff. A key the store refuses can never be
// deleted and counts as done (logged). It reports false when the node
// stops.
func (d *deleter) deleteRetrying(key string) bool {
	t := d.t
	return retryTier(t.ctx, func() (bool, error) {
		err := t.store.Delete(t.ctx, key)
		if err != nil && t.ctx.Err() == nil && errors.Is(err, objstore.ErrInvalidKey) {
			t.n.opts.Logger.Error("tier: object key refused, not deleted", "key", key, "err", err)
			return true, nil
		}
		return err == nil, err
	}, func(err error, wait time.Duration) {
		t.n.opts.Logger.Warn("tier: delete failed, retrying", "key", key, "err", err, "backoff", wait)
	})
}

// deleteObject is a shard's side of a delete (TIERING.md §3 step 1): the
// object's delete intent goes into the iteration's batch, which is then
// synced; the committer hands the key to the deleter only once the batch
// is durable (deleteSynced), so an object is never deleted while a table
// entry that names it may come back after a crash.
func (s *shard) deleteObject(key string) {
	s.batch.PutIntent(pebblestore.IntentDelete, key)
	s.tierDeletes = append(s.tierDeletes, key)
	s.syncWanted = true
	s.n.tier.busy.Add(1)
}

// deleteSynced hands the keys of a synced batch to the deleter; when the
// batch failed, their intents (if written) are left for the next startup.
func (t *tiering) deleteSynced(keys []string, err error) {
	if err != nil {
		t.busy.Add(-int64(len(keys)))
		return
	}
	t.del.pushIntentKeys(keys)
}
