package pebblestore

import (
	"encoding/binary"

	"github.com/cockroachdb/pebble/v2"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Batch encodes the node's writes into a Pebble batch. It is owned by one
// goroutine at a time.
type Batch struct {
	b   *pebble.Batch
	key [msgKeyLen]byte
	buf []byte
}

// NewBatch starts an empty batch.
func (d *DB) NewBatch() *Batch { return &Batch{b: d.db.NewBatch()} }

// Pebble is the underlying batch, for committing.
func (b *Batch) Pebble() *pebble.Batch { return b.b }

// Empty reports whether nothing was written.
func (b *Batch) Empty() bool { return b.b.Empty() }

// Len is the encoded size in bytes.
func (b *Batch) Len() int { return b.b.Len() }

// PutMessage writes a message record of kind e.Stored, encoded in place.
func (b *Batch) PutMessage(q storage.QueueID, lane uint8, e *queue.Entry) {
	op := b.b.SetDeferred(msgKeyLen, recordSize(e.Msg, e.Expiry))
	putMsgKey(op.Key, e.Stored, q, lane, e.ID)
	putRecord(op.Value, e.Msg, e.Expiry)
	_ = op.Finish()
}

// DeleteMessage deletes one message record.
func (b *Batch) DeleteMessage(q storage.QueueID, lane uint8, id storage.MsgID, kind queue.Stored) {
	putMsgKey(b.key[:], kind, q, lane, id)
	_ = b.b.Delete(b.key[:], nil)
}

// DeleteLaneRange deletes the lane's records of both kinds with
// from <= ID < to.
func (b *Batch) DeleteLaneRange(q storage.QueueID, lane uint8, from, to storage.MsgID) {
	for _, k := range []queue.Stored{queue.Durable, queue.Spill} {
		_ = b.b.DeleteRange(msgKey(k, q, lane, from), msgKey(k, q, lane, to), nil)
	}
}

// DeleteQueue deletes every record, segment table entry and cold ack, the
// spec and the meta of a queue. The queue's objects are the caller's: it
// writes a delete intent for each segment (from its in-memory table, in a
// synced batch) before the entries go, or the objects are orphans that
// only the List sweep finds.
func (b *Batch) DeleteQueue(q storage.QueueID) {
	for _, p := range []byte{prefixDurable, prefixSpill, prefixSegment, prefixSpillSegment,
		prefixColdAck, prefixSpillColdAck, prefixColdRange, prefixSpillRange} {
		start, end := queueRange(p, q)
		_ = b.b.DeleteRange(start, end, nil)
	}
	_ = b.b.Delete(queueKey(prefixSpec, q), nil)
	_ = b.b.Delete(queueKey(prefixMeta, q), nil)
}

// PutMeta writes a queue's meta.
func (b *Batch) PutMeta(q storage.QueueID, m *queue.Meta) {
	b.buf = appendMeta(b.buf[:0], m)
	b.key[0] = prefixMeta
	putQueueID(b.key[:queueKeyLen], q)
	_ = b.b.Set(b.key[:queueKeyLen], b.buf, nil)
}

// PutSpec writes a durable queue's spec.
func (b *Batch) PutSpec(s *storage.QueueSpec) {
	_ = b.b.Set(queueKey(prefixSpec, s.ID), encodeSpec(s), nil)
}

// PutOutbox writes a dead-letter outbox entry in shard's range.
func (b *Batch) PutOutbox(shard uint8, e *OutboxEntry) {
	b.buf = appendOutbox(b.buf[:0], e)
	_ = b.b.Set(outboxKey(shard, e.Seq), b.buf, nil)
}

// DeleteOutbox deletes one outbox entry.
func (b *Batch) DeleteOutbox(shard uint8, seq uint64) {
	_ = b.b.Delete(outboxKey(shard, seq), nil)
}

// LogMark makes the batch non-empty without changing data, so that a
// synced commit of it makes every earlier write durable.
func (b *Batch) LogMark() { _ = b.b.LogData([]byte{0}, nil) }

func putQueueID(dst []byte, q storage.QueueID) {
	for i := 8; i >= 1; i-- {
		dst[i] = byte(q)
		q >>= 8
	}
}

// DeleteKindRange deletes the lane's records of one kind with
// from <= ID < to: the records an upload moved into a segment.
func (b *Batch) DeleteKindRange(q storage.QueueID, lane uint8, kind queue.Stored, from, to storage.MsgID) {
	_ = b.b.DeleteRange(msgKey(kind, q, lane, from), msgKey(kind, q, lane, to), nil)
}

// PutSegment writes a segment table entry ('g' or 'u' by s.Kind).
func (b *Batch) PutSegment(s *Segment) {
	b.buf = appendSegment(b.buf[:0], s)
	_ = b.b.Set(segmentKey(s), b.buf, nil)
}

// DeleteSegment deletes a segment table entry.
func (b *Batch) DeleteSegment(q storage.QueueID, lane uint8, kind queue.Stored, first storage.MsgID) {
	_ = b.b.Delete(laneKey(segmentPrefix(kind), q, lane, first), nil)
}

// PutColdAck records that the record id, which lives in a segment of kind,
// has left the queue.
func (b *Batch) PutColdAck(q storage.QueueID, lane uint8, kind queue.Stored, id storage.MsgID) {
	_ = b.b.Set(laneKey(coldAckPrefix(kind), q, lane, id), nil, nil)
}

// PutColdAckRange records that every record of a segment of kind with
// from <= ID < to has left the queue: the part of a segment that a purge
// starting inside it removed, whose IDs are unknown without reading the
// object. from must be inside the segment, so that deleting the segment's
// cold acks deletes the range too.
func (b *Batch) PutColdAckRange(q storage.QueueID, lane uint8, kind queue.Stored, from, to storage.MsgID) {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(to))
	_ = b.b.Set(laneKey(coldRangePrefix(kind), q, lane, from), v[:], nil)
}

// DeleteColdAcks deletes the lane's cold acks of kind with from <= ID < to,
// single and range ones (a range by where it starts): those of a segment
// being deleted.
func (b *Batch) DeleteColdAcks(q storage.QueueID, lane uint8, kind queue.Stored, from, to storage.MsgID) {
	for _, p := range []byte{coldAckPrefix(kind), coldRangePrefix(kind)} {
		_ = b.b.DeleteRange(laneKey(p, q, lane, from), laneKey(p, q, lane, to), nil)
	}
}

// Intent is the kind of an intent record: the prefix of its key.
type Intent byte

// Intent kinds.
const (
	// IntentUpload: the object may exist and no table names it yet.
	IntentUpload Intent = prefixUploadIntent
	// IntentDelete: the object must be deleted.
	IntentDelete Intent = prefixDeleteIntent
)

// PutIntent writes an intent for object key.
func (b *Batch) PutIntent(kind Intent, key string) {
	_ = b.b.Set(intentKey(kind, key), nil, nil)
}

// DeleteIntent deletes an intent for object key.
func (b *Batch) DeleteIntent(kind Intent, key string) {
	_ = b.b.Delete(intentKey(kind, key), nil)
}

func intentKey(kind Intent, key string) []byte {
	return append([]byte{byte(kind)}, key...)
}
