// Package queue is the state machine of one queue on a storage node, free of
// I/O in the etcd-raft style: commands (Append, Consume, Grant, Get, Settle,
// CloseSession, Purge, Delete, Tick, Resume) are applied in order, and
// everything the caller must do as a result is handed to an Effects value:
// records to write or delete, metadata to persist, deliveries to push, dead
// letters to route, consumers cancelled, "unused" events. Reads of messages
// that are only on disk go through the read-only Store interface, as raft
// reads its log through raft.Storage; the caller must make writes handed to
// Effects visible to Store before the next Load (the node flushes its
// pending batch first). A Load may answer ErrNotReady (records in object
// storage, not fetched yet): the lane then waits, and nothing is taken from
// it or from a lower lane, until the caller calls Resume.
//
// # Model
//
// Every message gets a MsgID from a per-queue counter. A priority queue
// (x-max-priority) keeps one lane per priority level; a plain queue has one.
// Within a lane, ready messages form a stream ordered by MsgID:
//
//	requeued heap   messages returned by a consumer, back at their original
//	                position (they have lower IDs than anything in the stream)
//	mem             the front of the stream, in memory (read-ahead and tail
//	                cache, bounded by Config.CacheBytes and the node Budget)
//	disk            the rest of the stream, only in the store; loaded into mem
//	                in order when mem runs dry
//
// Ack bookkeeping is an ack floor plus a bounded sparse set: per lane, the set
// of IDs that have left the stream but are not settled (in flight or
// requeued). Everything below the floor, and everything between the floor and
// the stream that is not in the set, is settled. The set holds at most what
// consumers' credit let out, so it does not grow with the backlog; the floor
// is persisted so a restart seeks straight to the first live record.
//
// Memory per message is held only for in-flight and requeued messages
// (bounded by credit) and for mem (bounded by bytes); the disk part of a
// backlog costs two counters.
//
// # Ownership
//
// A Queue is not safe for concurrent use: exactly one goroutine (the node's
// shard that owns the queue) calls its methods. Consumers are owned by the
// queue once added; the caller may read their exported fields from the same
// goroutine only.
package queue
