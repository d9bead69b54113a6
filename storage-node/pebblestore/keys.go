// Package pebblestore is the storage node's key layout and record codec on
// Pebble: message records, queue specs and counters, the dead-letter
// outbox, and the bookkeeping of records tiered to the object store
// (segment table, cold acks, upload and delete intents; see TIERING.md).
// It reads (Store.Load, recovery scans) and encodes writes into batches;
// committing them, and when to sync, is the node's business.
//
// # Key layout
//
// All integers are big-endian, so byte order is numeric order.
//
//	's' qid:8                    queue spec (durable queues only), JSON
//	'm' qid:8                    queue meta: next ID, delivered mark, per-lane
//	                             floor/count/bytes of durable records
//	'p' qid:8 lane:1 id:8        durable message record (persistent message
//	                             of a durable queue), fsynced at append
//	't' qid:8 lane:1 id:8        spilled transient record: written NoSync
//	                             only to bound memory; the whole 't' range is
//	                             deleted with one range tombstone at startup
//	'd' shard:1 seq:8            dead-letter outbox entry; each shard writes
//	                             its own range in order, so a reader that
//	                             has seen seq k has seen every lower one
//	'g' qid:8 lane:1 first:8     durable segment table entry: records
//	                             [first, last] of the lane are in an object
//	                             (value: see Segment; the object key is
//	                             derived from key and value)
//	'u' qid:8 lane:1 first:8     transient segment table entry; at startup
//	                             each becomes a 'z' intent and the range is
//	                             dropped, like 't'
//	'c' qid:8 lane:1 id:8        cold ack: a record inside a durable segment
//	                             has left the queue (value empty)
//	'x' qid:8 lane:1 id:8        cold ack inside a transient segment (dropped
//	                             at startup)
//	'r' qid:8 lane:1 from:8      range cold ack: every record of a durable
//	                             segment with from <= ID < to has left the
//	                             queue (value: to:8), written by a purge that
//	                             starts inside a segment
//	'y' qid:8 lane:1 from:8      range cold ack of a transient segment
//	                             (dropped at startup)
//	'w' objkey                   upload intent: the object may exist and is
//	                             in no table (value empty)
//	'z' objkey                   delete intent: the object must be deleted
//	                             (value empty)
//	'v'                          format version
//	'n' "boot"                   boot counter (outbox entries carry it)
//	'n' "id"                     node's object-store id, 8 random bytes
//	                             written at the first Open
//
// Durable and transient records live in separate ranges so that a restart
// drops every transient message without reading any, and deleting a queue
// is a few range deletes whatever its backlog. Segment entries, cold acks
// and intents are ordered like records, so recovery reads O(segments +
// intents) keys and never a message.
package pebblestore

import (
	"encoding/binary"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Key prefixes and record versions.
const (
	prefixSpec    = 's'
	prefixMeta    = 'm'
	prefixDurable = 'p'
	prefixSpill   = 't'
	prefixOutbox  = 'd'
	keyVersion    = "v"
	keyBoot       = "nboot"
	keyNodeID     = "nid"

	prefixSegment      = 'g'
	prefixSpillSegment = 'u'
	prefixColdAck      = 'c'
	prefixSpillColdAck = 'x'
	prefixColdRange    = 'r'
	prefixSpillRange   = 'y'
	prefixUploadIntent = 'w'
	prefixDeleteIntent = 'z'
	formatVersion      = 1
	recordVersion      = 1
	outboxVersion      = 2 // 1: without the source queue
	msgKeyLen          = 1 + 8 + 1 + 8
	queueKeyLen        = 1 + 8
	outboxKeyLen       = 1 + 1 + 8
)

func prefixOf(k queue.Stored) byte {
	if k == queue.Durable {
		return prefixDurable
	}
	return prefixSpill
}

// putMsgKey writes the key of a message record into dst (msgKeyLen bytes).
func putMsgKey(dst []byte, kind queue.Stored, q storage.QueueID, lane uint8, id storage.MsgID) {
	dst[0] = prefixOf(kind)
	binary.BigEndian.PutUint64(dst[1:], uint64(q))
	dst[9] = lane
	binary.BigEndian.PutUint64(dst[10:], uint64(id))
}

func msgKey(kind queue.Stored, q storage.QueueID, lane uint8, id storage.MsgID) []byte {
	return laneKey(prefixOf(kind), q, lane, id)
}

func queueKey(prefix byte, q storage.QueueID) []byte {
	k := make([]byte, queueKeyLen)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], uint64(q))
	return k
}

// queueRange is [start, end) covering every key of prefix for queue q.
func queueRange(prefix byte, q storage.QueueID) (start, end []byte) {
	start = queueKey(prefix, q)
	end = queueKey(prefix, q+1)
	if q == ^storage.QueueID(0) {
		end = []byte{prefix + 1}
	}
	return start, end
}

func outboxKey(shard uint8, seq uint64) []byte {
	k := make([]byte, outboxKeyLen)
	k[0], k[1] = prefixOutbox, shard
	binary.BigEndian.PutUint64(k[2:], seq)
	return k
}

func msgIDOf(key []byte) storage.MsgID {
	return storage.MsgID(binary.BigEndian.Uint64(key[10:]))
}

func queueIDOf(key []byte) storage.QueueID {
	return storage.QueueID(binary.BigEndian.Uint64(key[1:]))
}
