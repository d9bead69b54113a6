// Package storage is the contract between gateways and storage nodes: queue
// administration, batched appends answered once durable, and consumer sessions
// with credit. The embedded shape calls a storage node through this interface
// in-process; the split shape carries the same calls over gRPC. No gateway code
// imports storage-node internals, only this package.
package storage

import (
	"bytes"
	"context"
	"errors"
)

// ErrSessionLost is what calls on a session return once its node has lost
// it (the node's process went away): the node has taken back the session's
// unacked messages, and the session is of no further use.
var ErrSessionLost = errors.New("storage session lost")

// ErrNodeUnavailable wraps the failure of a call that did not reach its
// storage node (its process is down or unreachable): the gateway answers
// as RabbitMQ does for a queue whose home node is down.
var ErrNodeUnavailable = errors.New("storage node unavailable")

// QueueID names a queue's storage for its whole life. The control plane assigns
// it at creation; a queue deleted and declared again gets a new ID, so no
// message of the old incarnation can ever reappear.
type QueueID uint64

// MsgID is a message's sequence number within its queue: strictly increasing
// in publish order, never reused. FIFO order and "requeued messages go back to
// their original position" both follow from ordering by MsgID.
type MsgID uint64

// Overflow is the x-overflow behaviour when a length limit is reached.
type Overflow uint8

const (
	DropHead Overflow = iota
	RejectPublish
	RejectPublishDLX
)

// QueueSpec is everything a storage node needs to run a queue. Limits use -1
// for "not set"; the gateway has already validated every argument.
type QueueSpec struct {
	ID         QueueID
	VHost      string // for x-death headers and stats
	Name       string
	Durable    bool // persistent messages are fsynced before their append returns
	AutoDelete bool // reported through Events once the last consumer leaves
	Exclusive  bool

	MessageTTL     int64 // ms, -1 = none
	Expires        int64 // ms of disuse before Events.QueueUnused; -1 = never
	MaxLength      int64 // ready messages, -1 = unlimited
	MaxLengthBytes int64 // ready body bytes, -1 = unlimited
	Overflow       Overflow
	MaxPriority    uint8 // 0 = not a priority queue

	// Dead-letter target; HasDLX false means dead-lettered messages are dropped.
	HasDLX               bool
	DeadLetterExchange   string
	HasDLRoutingKey      bool
	DeadLetterRoutingKey string

	SingleActiveConsumer bool
}

// Message is one published message as the storage node keeps it. Properties
// holds the encoded content-header properties (flags + list) exactly as the
// client sent them, so a delivery needs no re-encoding. The gateway derives the
// fields below from them at publish time so the storage hot path never parses.
type Message struct {
	Exchange   string
	RoutingKey string
	Properties []byte
	Body       []byte

	Persistent bool  // delivery-mode 2
	Priority   uint8 // 0 when absent
	TTL        int64 // per-message expiration in ms, -1 = none
}

// Publish is one message routed to one or more queues of the same node.
type Publish struct {
	Queues []QueueID
	Msg    *Message
}

// Outcome is the fate of one Publish. Rejected lists the queues whose
// reject-publish limit refused it: a confirming publisher gets basic.nack if any
// queue rejected it. Err non-nil means the node could not take the message at
// all (queue missing, node failing): nothing was stored for that Publish.
type Outcome struct {
	Rejected []QueueID
	Err      error
}

// SettleKind is what a consumer does with a delivered message.
type SettleKind uint8

const (
	Ack     SettleKind = iota // remove
	Requeue                   // back to its original position, redelivered
	Reject                    // remove, dead-lettering it if the queue has a DLX (reason "rejected")
)

// Settle names one delivered message and what to do with it.
type Settle struct {
	Queue QueueID
	ID    MsgID
	Kind  SettleKind
}

// Grant is credit for one consumer of a session.
type Grant struct {
	Tag    string
	Credit uint32
}

// Delivery is a message handed to a session, for a consumer (Tag set) or for a
// basic.get (Tag empty).
type Delivery struct {
	Tag         string
	Queue       QueueID
	ID          MsgID
	Redelivered bool
	Msg         *Message
}

// Clone copies d with its own copy of the message's bytes, for a Sink
// that keeps a delivery past Deliver.
func (d Delivery) Clone() Delivery {
	m := *d.Msg
	m.Properties = bytes.Clone(m.Properties)
	m.Body = bytes.Clone(m.Body)
	d.Msg = &m
	return d
}

// ConsumerSpec opens a consumer on a queue within a session. Credit is the
// number of deliveries the node may push before the session grants more;
// for a manual-ack consumer the gateway grants one credit back per settled
// message, so Credit acts as the prefetch count. Credit 0 means no delivery
// until a Grant, unless Unlimited is set (a consumer without prefetch).
type ConsumerSpec struct {
	Queue     QueueID
	Tag       string // unique within the session
	Credit    uint32
	Unlimited bool
	NoAck     bool // delivered messages are removed at once
	Exclusive bool // refuse if the queue has other consumers, and refuse others
	Priority  int32
}

// Sink receives what a session's node pushes. Calls come from node goroutines,
// serialized per session; they must not block on network I/O.
type Sink interface {
	// Deliver hands over deliveries for the session's consumers, in queue
	// order per consumer. A node's own session hands over a fresh slice of
	// messages that never change; a remote session (storagegrpc) reuses the
	// buffer their bytes arrived in once Deliver returns. A sink that may
	// have either and keeps a delivery past Deliver keeps a Clone.
	Deliver(batch []Delivery)
	// Cancelled says the node ended a consumer on its own (queue deleted, node stopping).
	Cancelled(tag string, reason error)
}

// QueueStats is a point-in-time view of one queue.
type QueueStats struct {
	Ready      uint64 // messages available for delivery
	Unacked    uint64 // delivered, not yet settled
	Consumers  uint32 // on every session of every gateway
	ReadyBytes uint64

	// With tiering (storage-node/TIERING.md), the ready messages of the
	// queue's backlog on disk: hot ones are only on the node's disk, cold
	// ones in segment objects of the object store. HotBytes counts body
	// bytes plus 64 per message, the measure of the node's hot budget;
	// ColdBytes counts body bytes. The cold figures may overcount the
	// messages acked before a restart until the backlog drains. All zero
	// without tiering.
	HotMessages  uint64
	HotBytes     uint64
	ColdMessages uint64
	ColdBytes    uint64
	Segments     uint64 // segment objects that hold the queue's cold messages

	// Counts are the queue's message events since its storage node started
	// (in memory only: a restart resets them, as RabbitMQ's do). Rates are
	// the same events per second, measured by the node over its last
	// complete sample interval, so every reader sees the same figure.
	Counts MessageCounts
	Rates  MessageRates
}

// MessageCounts are the cumulative counts of a queue's message events,
// RabbitMQ's message_stats. A message delivered or got more than once
// counts each time.
type MessageCounts struct {
	Publish      uint64 // messages the queue took, stored or delivered at once; not reject-publish refusals
	Deliver      uint64 // deliveries to consumers that ack
	DeliverNoAck uint64 // deliveries to no-ack consumers
	Get          uint64 // basic.gets that answered a message, to be acked
	GetNoAck     uint64 // basic.gets that answered a message, no-ack
	GetEmpty     uint64 // basic.gets that found no message
	Redeliver    uint64 // deliveries and gets of messages flagged redelivered
	Ack          uint64 // deliveries and gets acked
}

// MessageRates are MessageCounts per second.
type MessageRates struct {
	Publish, Deliver, DeliverNoAck, Get, GetNoAck, GetEmpty, Redeliver, Ack float64
}

// AppendCopier is a Node whose StartAppend has copied the batch's messages
// by the time it returns, as a remote node does when it encodes them for
// the wire. Once such an append is answered, nothing of the node's reads
// the messages' buffers, and the caller may reuse them; a node in the
// caller's process keeps them in its queues instead.
type AppendCopier interface {
	Node
	CopiesAppends()
}

// Node is one storage node, seen from a gateway or the control plane.
// Every method is safe for concurrent use.
type Node interface {
	// CreateQueue makes the queue's storage; creating an existing ID with the
	// same spec is a no-op.
	CreateQueue(ctx context.Context, spec QueueSpec) error
	// DeleteQueue removes a queue and its messages and cancels its consumers
	// (Sink.Cancelled). ifUnused/ifEmpty refuse with a 406 *reply.Error and leave
	// the queue intact. It returns the number of ready messages deleted.
	DeleteQueue(ctx context.Context, id QueueID, ifUnused, ifEmpty bool) (uint64, error)
	// PurgeQueue removes the ready messages (not the unacked) and returns how many.
	PurgeQueue(ctx context.Context, id QueueID) (uint64, error)
	// Stats reports counts for a queue; a missing queue is a 404 *reply.Error.
	Stats(ctx context.Context, id QueueID) (QueueStats, error)
	// Touch records a use of the queue (redeclare) for x-expires.
	Touch(ctx context.Context, id QueueID) error

	// Append stores a batch of publishes and returns once every one is durable
	// as its queue and message require: persistent messages to durable queues
	// are fsynced, others are applied without waiting for disk. The i-th Outcome
	// answers the i-th Publish. An error return means the whole batch's fate is
	// unknown (the node went away); the gateway must nack those publishes.
	Append(ctx context.Context, batch []Publish) ([]Outcome, error)
	// StartAppend is Append in two steps, so a caller can have several
	// batches in flight: it returns once the batch is queued behind every
	// batch this caller started before (which fixes its order in the
	// queues), and wait returns what Append would have.
	StartAppend(ctx context.Context, batch []Publish) (wait func() ([]Outcome, error))

	// OpenSession starts a session for one gateway channel or connection: its
	// consumers, basic.gets and settlements. Closing it (or the node losing the
	// session) returns every unacked message of the session to its queue,
	// flagged redelivered.
	OpenSession(ctx context.Context, sink Sink) (Session, error)
}

// Session holds one gateway client's consumers and unacked deliveries on a node.
// Its methods are safe for concurrent use.
type Session interface {
	// Consume starts a consumer; deliveries arrive through the Sink.
	// Refusals (exclusive conflicts, missing queue) are *reply.Error.
	Consume(spec ConsumerSpec) error
	// Cancel stops a consumer. Its unacked deliveries stay with the session
	// until settled or until the session closes.
	Cancel(tag string) error
	// Grant adds credit to a consumer.
	Grant(tag string, credit uint32)
	// Get takes one ready message, or ok=false when the queue has none.
	// remaining is the number of ready messages left after this one.
	Get(ctx context.Context, queue QueueID, noAck bool) (d Delivery, remaining uint64, ok bool, err error)
	// Settle acks, requeues or rejects delivered messages, then adds the
	// grants' credit to their consumers: one call, since settling is what
	// frees a consumer's prefetch. Settling a message the session does not
	// hold is ignored: the gateway validates delivery tags.
	Settle(ops []Settle, grants []Grant) error
	// Barrier returns once the node has taken every request this session
	// made before it, so that a call made afterwards by another path
	// (Stats, PurgeQueue, a queue delete) is ordered after its settlements,
	// as RabbitMQ orders a channel's acks before its next queue operation.
	Barrier(ctx context.Context) error
	// Close ends the session and returns its unacked messages to their queues.
	Close() error
	// Done is closed once the session has ended: soon after Close, or when
	// the node lost it (the node stopped or its process went away). By then
	// the node has taken back the session's unacked messages (requeued, or
	// kept on disk for a restart) and reported the end of each consumer
	// Close did not cancel through Sink.Cancelled. Later calls fail or do
	// nothing; the caller opens a new session to go on.
	Done() <-chan struct{}
}

// Events are what a storage node tells the control plane on its own initiative.
type Events interface {
	// QueueUnused says an auto-delete queue lost its last consumer, or an
	// x-expires queue has been unused for its expiry time: the control plane
	// should delete it from the topology (and then call DeleteQueue).
	QueueUnused(id QueueID, reason string)
}

// DeadLetter is a message leaving a queue by rejection, expiry or overflow,
// already rewritten with its x-death headers, to be routed through Exchange with
// RoutingKeys (the original keys, or the queue's x-dead-letter-routing-key).
// Queue is the source queue: its instance's topology routes the dead letter,
// in VHost. Queue 0 (no queue has it) stands for the default instance, as
// dead letters stored before they carried their source read back.
type DeadLetter struct {
	Queue       QueueID
	VHost       string
	Exchange    string
	RoutingKeys []string
	Msg         *Message
}

// DeadLetterer routes dead letters and appends them to their target queues,
// returning once they are stored as durably as a publish would be. The storage
// node removes a dead-lettered message from its source only after this returns
// nil, so a crash in between duplicates rather than loses it.
type DeadLetterer interface {
	DeadLetter(ctx context.Context, batch []DeadLetter) error
}

// QueueUnusedSubject is the NATS subject on which a storage node in its own
// process reports Events.QueueUnused to the control plane, as JSON
// QueueUnusedEvent messages.
const QueueUnusedSubject = "warren.storage.queue-unused"

// QueueUnusedEvent is one Events.QueueUnused report on QueueUnusedSubject.
type QueueUnusedEvent struct {
	Queue  QueueID `json:"queue"`
	Reason string  `json:"reason"`
}
