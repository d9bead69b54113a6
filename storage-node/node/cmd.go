package node

import (
	"context"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

type cmdKind uint8

const (
	cmdAppend cmdKind = iota
	cmdCreate
	cmdDelete
	cmdPurge
	cmdStats
	cmdTouch
	cmdConsume
	cmdCancel
	cmdSetEffective
	cmdGrant
	cmdGet
	cmdSettle
	cmdCloseSession
	cmdFunc
	cmdStop
)

// cmd is one request to a shard, passed by value through its inbox.
type cmd struct {
	// ctx is the caller's context, kept for a get the shard may park: once
	// it has ended, the get is answered with its error and takes nothing
	// (nil: never ends).
	ctx  context.Context
	kind cmdKind
	q    storage.QueueID
	sess *session
	tag  string
	n    uint32
	a, b bool // noAck; ifUnused, ifEmpty
	spec *storage.QueueSpec
	cons *queue.Consumer
	part *appendPart
	ops  []storage.Settle
	qs   []storage.QueueID
	fn   func(*shard)
	resp chan result
}

// result answers a cmd.
type result struct {
	err   error
	n     uint64
	stats storage.QueueStats
	d     storage.Delivery
	ok    bool
}

// pendingReply is a result held until the iteration's batch is committed
// (or synced).
type pendingReply struct {
	ch chan result
	r  result
}
