package queue

import (
	"fmt"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
)

// Reason is why a message is dead-lettered; the strings are RabbitMQ's.
type Reason string

const (
	Rejected Reason = "rejected"
	Expired  Reason = "expired"
	Maxlen   Reason = "maxlen"
)

// Effects receives, in order, everything a command makes the caller do.
// Pointers passed to it are valid only during the call; entries are
// passed by value so that the hot path does not allocate.
type Effects interface {
	// Store writes e's record; e.Stored is Durable or Spill. A Durable record
	// must be fsynced before the append that caused it is acknowledged.
	Store(q storage.QueueID, lane uint8, e Entry)
	// Delete removes the record of a message that left the queue.
	Delete(q storage.QueueID, lane uint8, id storage.MsgID, kind Stored)
	// DeleteRange removes every record of the lane with from <= ID < to.
	DeleteRange(q storage.QueueID, lane uint8, from, to storage.MsgID)
	// DeleteQueue removes every record and the metadata of the queue.
	DeleteQueue(q storage.QueueID)
	// SaveMeta persists the counters of a durable queue. It must be written
	// in the same atomic batch as the records changed since the last one.
	SaveMeta(q storage.QueueID, m *Meta)
	// DeadLetter routes e, leaving the queue for reason, to the queue's
	// dead-letter exchange; called only when the queue has one, after the
	// Delete of e's record, and must land in the same batch.
	DeadLetter(q *Queue, e Entry, reason Reason)
	// Deliver hands e to consumer c. gated: e is durable and its delivery
	// is covered only by the last SaveMeta; the caller must hold the
	// delivery back until that is synced (then call Synced), so that a crash
	// can never redeliver it without the redelivered flag.
	Deliver(c *Consumer, e Entry, gated bool)
	// Cancelled says the queue ended consumer c (the queue was deleted).
	Cancelled(c *Consumer)
	// Unused reports an auto-delete queue's last consumer leaving
	// ("auto-delete") or an x-expires period passing unused ("expired").
	Unused(q storage.QueueID, reason string)
}

// Store reads records that are only on disk.
type Store interface {
	// Load appends to dst the records of the lane with from <= ID < to and a
	// kind in kinds, in ID order, stopping after maxCount records or once
	// maxBytes of bodies are read. Each Entry's Stored says its kind.
	Load(q storage.QueueID, lane uint8, from, to storage.MsgID, kinds StoredMask,
		maxCount int, maxBytes int64, dst []Entry) ([]Entry, error)
}

// Budget is the node-wide bound on message bytes cached in memory.
type Budget interface {
	// Over reports whether the node's cached bytes exceed the budget.
	Over() bool
	// Charge adds delta (negative to release) to the cached bytes.
	Charge(delta int64)
}

// Config bounds a queue's memory and I/O; zero fields take defaults.
type Config struct {
	// CacheBytes bounds the ready messages a queue keeps in memory
	// (read-ahead and tail); the rest of a backlog stays on disk.
	CacheBytes int64
	// MinCacheBytes is cached even when the node Budget is spent, so a queue
	// whose consumers keep up never goes through disk.
	MinCacheBytes int64
	// LoadCount and LoadBytes bound one read from disk.
	LoadCount int
	LoadBytes int64
	// DeliveredChunk is how far ahead of the deliveries the persisted
	// "may have been delivered" mark is moved: one synced meta write per
	// DeliveredChunk/2 durable deliveries, and at most DeliveredChunk
	// messages flagged redelivered without having been delivered after a
	// crash.
	DeliveredChunk uint64
}

// Defaults for Config.
const (
	DefaultCacheBytes     = 8 << 20
	DefaultMinCacheBytes  = 256 << 10
	DefaultLoadCount      = 256
	DefaultLoadBytes      = 1 << 20
	DefaultDeliveredChunk = 4096
)

func (c Config) withDefaults() Config {
	if c.CacheBytes <= 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.MinCacheBytes <= 0 {
		c.MinCacheBytes = min(DefaultMinCacheBytes, c.CacheBytes)
	}
	if c.LoadCount <= 0 {
		c.LoadCount = DefaultLoadCount
	}
	if c.LoadBytes <= 0 {
		c.LoadBytes = DefaultLoadBytes
	}
	if c.DeliveredChunk == 0 {
		c.DeliveredChunk = DefaultDeliveredChunk
	}
	return c
}

// Meta is the persisted state of a durable queue, enough to resume without
// reading its backlog.
type Meta struct {
	NextID storage.MsgID
	// DHW: every delivery so far had an ID below DHW; after a restart those
	// messages come back flagged redelivered.
	DHW storage.MsgID
	// Expiries: some durable record may carry an expiry, so after a
	// restart the heads must be read to arm their timers.
	Expiries bool
	Lanes    []LaneMeta // lanes holding durable records, ascending
}

// LaneMeta counts a lane's durable records; Floor is at or below the lowest.
type LaneMeta struct {
	Lane  uint8
	Floor storage.MsgID
	Count int64
	Bytes int64
}

// inflight is a message delivered and not settled.
type inflight struct {
	e    Entry
	lane uint8
	sess SessionID
	c    *Consumer // nil for basic.get
}

// span counts records and their body bytes.
type span struct{ n, bytes int64 }

func (s *span) add(e *Entry) { s.n++; s.bytes += e.Size() }
func (s *span) sub(e *Entry) { s.n--; s.bytes -= e.Size() }

// lane is one priority level's ready stream and ack state.
type lane struct {
	requeued  entryHeap
	mem       ring
	diskFrom  storage.MsgID // first ID the next Load may return
	disk      [3]span       // stream records only on disk, by Stored kind
	stored    span          // all Durable records of the lane (persisted)
	unsettled unsettled
	ready     int64
	// waiting: the last Load answered ErrNotReady. The lane does not read
	// its disk part again until Resume (or a purge empties it), so neither
	// dispatch nor the timers spin on it.
	waiting bool
	// owed: drop-head took this many of the lane's next stream records
	// (mem's front, then the disk part's) out of ready before it could
	// read them; they are dropped in Queue.drops' order (owed.go).
	owed int64
}

func (l *lane) diskN() int64 { return l.disk[Durable].n + l.disk[Spill].n }

// Queue is one queue's state machine. See the package doc.
type Queue struct {
	spec    storage.QueueSpec
	cfg     Config
	store   Store
	budget  Budget
	durable bool

	nextID   storage.MsgID
	lanes    []lane
	nonEmpty [4]uint64 // bit per lane with ready messages

	ready      int64
	readyBytes int64
	memCost    int64
	inflight   map[storage.MsgID]inflight
	perSession map[SessionID]*sessionUnacked
	cons       consumerSet

	ttl            bool          // some message may carry an expiry
	pol            policyState   // SetEffective's (policy.go)
	storedExpiry   bool          // some durable record may carry one
	dhw            storage.MsgID // delivered mark handed to SaveMeta
	dhwSynced      storage.MsgID // delivered mark known durable
	redeliverBelow storage.MsgID // from before the last restart
	metaDirty      bool
	meta           Meta

	lastUsed    int64
	hadConsumer bool
	unusedSent  bool
	deleted     bool
	// expireStop is 1 + the lane where a sweep of expiry checks stopped
	// on a waiting head (0: none); Resume sweeps on from there.
	expireStop int
	// drops are the drops waiting for an owed record, and the dead
	// letters queued behind them (owed.go); dropStopped: a drop-head
	// stopped at a blocked head instead, and Resume goes on with it.
	drops       []pendingDrop
	dropStopped bool
	err         error
	loadBuf     []Entry
	// counts are the message events since the queue was made in memory:
	// plain increments on the shard's goroutine, read by Stats.
	counts storage.MessageCounts
}

// New makes an empty queue. now is the current time in unix ms.
func New(spec storage.QueueSpec, cfg Config, store Store, budget Budget, now int64) *Queue {
	q := &Queue{
		spec:       spec,
		cfg:        cfg.withDefaults(),
		store:      store,
		budget:     budget,
		durable:    spec.Durable && !spec.Exclusive,
		nextID:     1,
		lanes:      make([]lane, int(spec.MaxPriority)+1),
		inflight:   make(map[storage.MsgID]inflight),
		perSession: make(map[SessionID]*sessionUnacked),
		lastUsed:   now,
		ttl:        spec.MessageTTL >= 0,
	}
	q.cons.sac = spec.SingleActiveConsumer
	q.metaDirty = q.durable
	return q
}

// Recover rebuilds a durable queue from its persisted Meta after a restart:
// every durable record becomes ready, and those that may have been delivered
// before (ID below Meta.DHW) are flagged redelivered when read.
func Recover(spec storage.QueueSpec, m Meta, cfg Config, store Store, budget Budget, now int64) *Queue {
	q := New(spec, cfg, store, budget, now)
	q.nextID = max(m.NextID, 1)
	q.dhw, q.dhwSynced, q.redeliverBelow = m.DHW, m.DHW, m.DHW
	q.ttl = q.ttl || m.Expiries
	q.storedExpiry = m.Expiries
	for _, lm := range m.Lanes {
		if int(lm.Lane) >= len(q.lanes) || lm.Count <= 0 {
			continue
		}
		l := &q.lanes[lm.Lane]
		l.diskFrom = lm.Floor
		l.disk[Durable] = span{lm.Count, lm.Bytes}
		l.stored = span{lm.Count, lm.Bytes}
		l.ready = lm.Count
		q.ready += lm.Count
		q.readyBytes += lm.Bytes
		q.setNonEmpty(lm.Lane)
	}
	q.metaDirty = false
	return q
}

// Spec is the queue's spec.
func (q *Queue) Spec() *storage.QueueSpec { return &q.spec }

// ID is the queue's ID.
func (q *Queue) ID() storage.QueueID { return q.spec.ID }

// MemCost is what the queue's cached ready messages charge the Budget.
func (q *Queue) MemCost() int64 { return q.memCost }

// Err is the first store error the queue met; it stops delivering from disk.
func (q *Queue) Err() error { return q.err }

// Consumers is the number of consumers.
func (q *Queue) Consumers() int { return q.cons.len() }

// Stats is a point-in-time view of the counters; Rates are left to the
// caller, which has the clock.
func (q *Queue) Stats() storage.QueueStats {
	return storage.QueueStats{
		Ready:      uint64(q.ready),
		Unacked:    uint64(len(q.inflight)),
		Consumers:  uint32(q.cons.len()),
		ReadyBytes: uint64(q.readyBytes),
		Counts:     q.counts,
	}
}

// Counts are the message events so far (storage.MessageCounts).
func (q *Queue) Counts() storage.MessageCounts { return q.counts }

// countOut counts a message handed out by a delivery (get false) or a
// basic.get.
func (q *Queue) countOut(e *Entry, get, noAck bool) {
	switch {
	case get && noAck:
		q.counts.GetNoAck++
	case get:
		q.counts.Get++
	case noAck:
		q.counts.DeliverNoAck++
	default:
		q.counts.Deliver++
	}
	if e.Redelivered {
		q.counts.Redeliver++
	}
}

// rs is RabbitMQ's rendering of a queue resource name (rabbit_misc:rs/1).
func (q *Queue) rs() string {
	return fmt.Sprintf("queue '%s' in vhost '%s'", q.spec.Name, q.spec.VHost)
}

func (q *Queue) errExclusive() error {
	return reply.Errorf(reply.AccessRefused, "%s in exclusive use", q.rs())
}

func (q *Queue) setNonEmpty(li uint8)   { q.nonEmpty[li>>6] |= 1 << (li & 63) }
func (q *Queue) clearNonEmpty(li uint8) { q.nonEmpty[li>>6] &^= 1 << (li & 63) }

// topLane is the highest lane with ready messages, or -1.
func (q *Queue) topLane() int {
	for w := len(q.nonEmpty) - 1; w >= 0; w-- {
		if v := q.nonEmpty[w]; v != 0 {
			return w*64 + 63 - leadingZeros(v)
		}
	}
	return -1
}
