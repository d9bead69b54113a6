package pebblestore

import (
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

// DeleteQueue deletes every record, the spec and the meta of a queue.
func (b *Batch) DeleteQueue(q storage.QueueID) {
	for _, p := range []byte{prefixDurable, prefixSpill} {
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
