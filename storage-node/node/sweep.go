package node

import (
	"fmt"
	"time"

	"github.com/warrenmq/warren/storage-node/pebblestore"
)

// sweep is the startup List sweep (TIERING.md §3 "Orphans"), defence in
// depth behind the intents: it lists the node's objects and hands the
// deleter those that parse as the node's segment keys, come from a boot
// before this one and are named by no table and no intent. It runs once,
// in the background after the shards start, retrying a failed List with
// backoff until the node stops.
//
// Why it can't delete a live object: an object of this boot is never a
// candidate, so it can't race an upload, and a table gains entries of
// this boot only. An object of an earlier boot that is in no table when
// its shard answers the snapshot was removed from its table before that,
// with a delete intent in the same batch, applied before the answer: the
// intents, read after the tables, name it (or the deleter already deleted
// it, and deleting it again is harmless).
func (t *tiering) sweep() {
	defer t.wg.Done()
	defer t.busy.Add(-1)
	var n int
	swept := retryTier(t.ctx, func() (bool, error) {
		var err error
		n, err = t.sweepOnce()
		return err == nil, err
	}, func(err error, wait time.Duration) {
		t.n.opts.Logger.Warn("tier: orphan sweep failed, retrying", "err", err, "backoff", wait)
	})
	if swept && n > 0 {
		t.n.opts.Logger.Warn("tier: orphaned objects found at startup", "objects", n)
	}
}

// startSweep runs the sweep in the background; call it once the shards
// run (it asks them for their tables).
func (t *tiering) startSweep() {
	t.busy.Add(1)
	t.wg.Add(1)
	go t.sweep()
}

// sweepOnce snapshots the tables, then the intents, then lists, and
// queues the orphans; it returns how many.
func (t *tiering) sweepOnce() (int, error) {
	known, err := t.knownObjects()
	if err != nil {
		return 0, err
	}
	objs, err := t.store.List(t.ctx, fmt.Sprintf("%016x/", t.nid))
	if err != nil {
		return 0, err
	}
	var orphans []delItem
	for _, o := range objs {
		if _, ok := known[o.Key]; !ok && t.earlierBoot(o.Key) {
			orphans = append(orphans, delItem{key: o.Key})
		}
	}
	t.busy.Add(int64(len(orphans)))
	t.del.orphans.Add(uint64(len(orphans)))
	t.del.push(orphans...)
	return len(orphans), nil
}

// earlierBoot reports whether key is one of this node's segment keys
// from a boot before this one. A key that doesn't parse is not ours.
func (t *tiering) earlierBoot(key string) bool {
	nid, sg, err := pebblestore.ParseObjectKey(key)
	return err == nil && nid == t.nid && sg.Boot < t.n.boot
}

// knownObjects is the set of keys the tables and the intents name: the
// shards' tables first (each shard answers after committing the batch
// that removed what its table no longer holds), then the intents.
func (t *tiering) knownObjects() (map[string]struct{}, error) {
	known := map[string]struct{}{}
	var segs []pebblestore.Segment
	for _, s := range t.n.shards {
		_, err := t.n.call(t.ctx, s, cmd{kind: cmdFunc, fn: func(s *shard) {
			for _, qs := range s.queues {
				if qs.tq != nil {
					segs = qs.tq.Segments(segs)
				}
			}
		}})
		if err != nil {
			return nil, fmt.Errorf("snapshot of the segment tables: %w", err)
		}
	}
	for i := range segs {
		known[segs[i].ObjectKey(t.nid)] = struct{}{}
	}
	for _, kind := range []pebblestore.Intent{pebblestore.IntentDelete, pebblestore.IntentUpload} {
		keys, err := t.n.db.Intents(kind)
		if err != nil {
			return nil, fmt.Errorf("intents: %w", err)
		}
		for _, k := range keys {
			known[k] = struct{}{}
		}
	}
	return known, nil
}
