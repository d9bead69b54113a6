package pebblestore

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// ReadRun reads the lane's records of one kind with from <= ID < to, in ID
// order, up to maxCount records or maxBytes of bodies (at least one record
// when any is there): the records of the next segment to upload. One
// iterator reads them, so the run is a consistent snapshot; it may hold
// records whose batch is published but not yet fsynced, which is safe
// because the WAL replays a prefix (TIERING.md §3).
func (d *DB) ReadRun(q storage.QueueID, lane uint8, kind queue.Stored, from, to storage.MsgID,
	maxCount int, maxBytes int64, dst []queue.Entry) ([]queue.Entry, error) {
	return d.Load(q, lane, from, to, 1<<kind, maxCount, maxBytes, dst)
}

// ColdAcks appends to dst the IDs of the lane's cold acks of kind with
// from <= ID < to, ascending: the records of a segment block that have
// left the queue.
func (d *DB) ColdAcks(q storage.QueueID, lane uint8, kind queue.Stored, from, to storage.MsgID,
	dst []storage.MsgID) ([]storage.MsgID, error) {
	p := coldAckPrefix(kind)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: laneKey(p, q, lane, from), UpperBound: laneKey(p, q, lane, to)})
	if err != nil {
		return dst, fmt.Errorf("cold acks of queue %d: %w", q, err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		dst = append(dst, msgIDOf(it.Key()))
	}
	return dst, it.Error()
}

// ColdAckRanges appends to dst the lane's range cold acks of kind that
// overlap [from, to), clipped to it, ascending. A record of a segment
// block inside one of them has left the queue, like one with a cold ack.
// A lane holds few: one per purge that started inside a live segment, and
// they go with the segment.
func (d *DB) ColdAckRanges(q storage.QueueID, lane uint8, kind queue.Stored, from, to storage.MsgID,
	dst []IDRange) ([]IDRange, error) {
	p := coldRangePrefix(kind)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: laneKey(p, q, lane, 0), UpperBound: laneKey(p, q, lane, to)})
	if err != nil {
		return dst, fmt.Errorf("range cold acks of queue %d: %w", q, err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			return dst, err
		}
		r, err := decodeColdRange(it.Key(), val)
		if err != nil {
			return dst, err
		}
		if r.To > from {
			dst = append(dst, IDRange{max(r.From, from), min(r.To, to)})
		}
	}
	return dst, it.Error()
}

// Intents lists the object keys of every intent of kind, sorted. After
// Recover only delete intents remain; the deleter starts with them.
func (d *DB) Intents(kind Intent) ([]string, error) {
	var out []string
	err := d.scan(byte(kind), func(key, _ []byte) error {
		out = append(out, string(key[1:]))
		return nil
	})
	return out, err
}

// scan calls fn for every key with the prefix, in order; fn must not keep
// key or val.
func (d *DB) scan(prefix byte, fn func(key, val []byte) error) error {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(it.Key(), val); err != nil {
			return err
		}
	}
	return it.Error()
}

// recoverTiered writes into b what a restart does to the tier's keys
// (TIERING.md §5): upload intents become delete intents (their commit
// never became durable), transient segments become delete intents, the
// transient ranges go, and each durable segment either joins its queue in
// rec or, when dead, becomes a delete intent.
func (d *DB) recoverTiered(b *Batch, rec []Recovered) error {
	err := d.scan(prefixUploadIntent, func(key, _ []byte) error {
		b.PutIntent(IntentDelete, string(key[1:]))
		b.DeleteIntent(IntentUpload, string(key[1:]))
		return nil
	})
	if err != nil {
		return fmt.Errorf("upload intents: %w", err)
	}
	err = d.scan(prefixSpillSegment, func(key, val []byte) error {
		s, err := decodeSegment(key, val)
		if err == nil {
			b.PutIntent(IntentDelete, s.ObjectKey(d.nid))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("transient segments: %w", err)
	}
	for _, p := range []byte{prefixSpill, prefixSpillSegment, prefixSpillColdAck, prefixSpillRange} {
		_ = b.b.DeleteRange([]byte{p}, []byte{p + 1}, nil)
	}
	return d.recoverSegments(b, rec)
}

// recoverSegments adds each live durable segment to its queue in rec and
// turns the dead ones (no queue, lane not in the meta, or below its
// floor) into delete intents.
func (d *DB) recoverSegments(b *Batch, rec []Recovered) error {
	byQueue := make(map[storage.QueueID]*Recovered, len(rec))
	for i := range rec {
		byQueue[rec[i].Spec.ID] = &rec[i]
	}
	err := d.scan(prefixSegment, func(key, val []byte) error {
		s, err := decodeSegment(key, val)
		if err != nil {
			return err
		}
		if r := byQueue[s.Queue]; r != nil && live(&s, &r.Meta) {
			r.Segments = append(r.Segments, s)
			return nil
		}
		b.PutIntent(IntentDelete, s.ObjectKey(d.nid))
		b.DeleteSegment(s.Queue, s.Lane, s.Kind, s.First)
		b.DeleteColdAcks(s.Queue, s.Lane, s.Kind, s.First, s.Last+1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("segments: %w", err)
	}
	return nil
}

// live reports whether a durable segment may still hold a record of the
// queue: its lane holds durable records and Last is at or past the floor.
func live(s *Segment, m *queue.Meta) bool {
	for _, l := range m.Lanes {
		if l.Lane == s.Lane {
			return s.Last >= l.Floor
		}
	}
	return false
}
