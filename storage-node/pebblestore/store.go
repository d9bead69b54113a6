package pebblestore

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Options configure the Pebble instance.
type Options struct {
	// FS is the filesystem (vfs.Default when nil; tests pass a MemFS).
	FS vfs.FS
	// BlockCacheBytes is Pebble's block cache (8 MiB when 0).
	BlockCacheBytes int64
	// MemTableBytes is the size of one memtable (32 MiB when 0); up to four
	// may be in memory. Large memtables let a message that is consumed soon
	// after it was written be deleted before it ever reaches an sstable.
	MemTableBytes int64
	// Logger receives Pebble's log lines (discarded when nil).
	Logger pebble.Logger
}

// DB is the node's Pebble database. It is safe for concurrent use.
type DB struct {
	db  *pebble.DB
	nid uint64 // see NodeID
}

// Open opens (creating if needed) the database in dir.
func Open(dir string, o Options) (*DB, error) {
	cacheBytes := o.BlockCacheBytes
	if cacheBytes <= 0 {
		cacheBytes = 8 << 20
	}
	memtable := o.MemTableBytes
	if memtable <= 0 {
		memtable = 32 << 20
	}
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref()
	po := &pebble.Options{
		FS:                          o.FS,
		Cache:                       cache,
		MemTableSize:                uint64(memtable),
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		Logger:                      o.Logger,
	}
	if po.Logger == nil {
		po.Logger = quietLogger{}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("open pebble in %s: %w", dir, err)
	}
	d := &DB{db: db}
	if err := d.checkVersion(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := d.loadNodeID(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return d, nil
}

func (d *DB) checkVersion() error {
	v, closer, err := d.db.Get([]byte(keyVersion))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return d.db.Set([]byte(keyVersion), []byte{formatVersion}, pebble.Sync)
	case err != nil:
		return fmt.Errorf("read format version: %w", err)
	}
	defer closer.Close()
	if len(v) != 1 || v[0] != formatVersion {
		return fmt.Errorf("storage format version %v, want %d: %w", v, formatVersion, ErrCorrupt)
	}
	return nil
}

// Pebble is the underlying database, for committing batches.
func (d *DB) Pebble() *pebble.DB { return d.db }

// Close closes the database; committed writes are flushed to the WAL.
func (d *DB) Close() error { return d.db.Close() }

// Load implements queue.Store: it reads the lane's records with
// from <= ID < to of the selected kinds in ID order (merging the durable
// and transient ranges), up to maxCount records or maxBytes of bodies.
func (d *DB) Load(q storage.QueueID, lane uint8, from, to storage.MsgID, kinds queue.StoredMask,
	maxCount int, maxBytes int64, dst []queue.Entry) ([]queue.Entry, error) {
	var its [2]*pebble.Iterator
	n := 0
	for _, k := range []queue.Stored{queue.Durable, queue.Spill} {
		if !kinds.Has(k) {
			continue
		}
		it, err := d.db.NewIter(&pebble.IterOptions{
			LowerBound: msgKey(k, q, lane, from),
			UpperBound: msgKey(k, q, lane, to),
		})
		if err != nil {
			closeIters(its[:n])
			return dst, fmt.Errorf("iterate queue %d: %w", q, err)
		}
		it.First()
		its[n] = it
		n++
	}
	dst, err := mergeRecords(its[:n], maxCount, maxBytes, dst)
	if cerr := closeIters(its[:n]); err == nil {
		err = cerr
	}
	return dst, err
}

func closeIters(its []*pebble.Iterator) error {
	var err error
	for _, it := range its {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// mergeRecords decodes records from up to two positioned iterators in key
// ID order.
func mergeRecords(its []*pebble.Iterator, maxCount int, maxBytes int64, dst []queue.Entry) ([]queue.Entry, error) {
	var bytesRead int64
	start := len(dst)
	for len(dst)-start < maxCount && (bytesRead < maxBytes || len(dst) == start) {
		it := nextIter(its)
		if it == nil {
			break
		}
		e, err := entryOf(it)
		if err != nil {
			return dst, err
		}
		dst = append(dst, e)
		bytesRead += e.Size()
		it.Next()
	}
	for _, it := range its {
		if err := it.Error(); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// nextIter is the valid iterator with the lowest message ID, or nil.
func nextIter(its []*pebble.Iterator) *pebble.Iterator {
	var best *pebble.Iterator
	for _, it := range its {
		if !it.Valid() {
			continue
		}
		if best == nil || bytes.Compare(it.Key()[10:], best.Key()[10:]) < 0 {
			best = it
		}
	}
	return best
}

func entryOf(it *pebble.Iterator) (queue.Entry, error) {
	key := it.Key()
	val, err := it.ValueAndErr()
	if err != nil {
		return queue.Entry{}, err
	}
	m, expiry, err := decodeRecord(val)
	if err != nil {
		return queue.Entry{}, fmt.Errorf("record %x: %w", key, err)
	}
	kind := queue.Durable
	if key[0] == prefixSpill {
		kind = queue.Spill
	}
	return queue.Entry{ID: msgIDOf(key), Msg: m, Expiry: expiry, Stored: kind}, nil
}

// Recovered is a durable queue found at startup.
type Recovered struct {
	Spec storage.QueueSpec
	Meta queue.Meta
	// Segments are the queue's live durable segment table entries, by
	// lane then First.
	Segments []Segment
}

// Recover lists the durable queues with their meta and segments, and
// prepares the tier's keys for a new run (TIERING.md §5): every transient
// record, transient segment and transient cold ack goes with one range
// tombstone each, and every object no live table entry names gets a
// delete intent (read them back with Intents). It reads one spec and meta
// per queue and one key per segment or intent, never a message. All its
// writes are one synced batch: on error nothing changed.
func (d *DB) Recover() ([]Recovered, error) {
	out, err := d.recoverQueues()
	if err != nil {
		return nil, err
	}
	b := d.NewBatch()
	defer b.b.Close()
	if err := d.recoverTiered(b, out); err != nil {
		return nil, err
	}
	if err := b.b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	return out, nil
}

func (d *DB) recoverQueues() ([]Recovered, error) {
	var out []Recovered
	err := d.scan(prefixSpec, func(key, val []byte) error {
		spec, err := decodeSpec(val)
		if err != nil {
			return fmt.Errorf("queue %d: %w", queueIDOf(key), err)
		}
		m, err := d.meta(spec.ID)
		if err != nil {
			return err
		}
		out = append(out, Recovered{Spec: spec, Meta: m})
		return nil
	})
	return out, err
}

func (d *DB) meta(q storage.QueueID) (queue.Meta, error) {
	v, closer, err := d.db.Get(queueKey(prefixMeta, q))
	if errors.Is(err, pebble.ErrNotFound) {
		return queue.Meta{NextID: 1}, nil
	}
	if err != nil {
		return queue.Meta{}, fmt.Errorf("queue %d meta: %w", q, err)
	}
	defer closer.Close()
	m, err := decodeMeta(v)
	if err != nil {
		return queue.Meta{}, fmt.Errorf("queue %d meta: %w", q, err)
	}
	return m, nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
