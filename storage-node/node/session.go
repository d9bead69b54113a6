package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// item is a delivery or a cancellation on its way to a Sink.
type item struct {
	d      storage.Delivery
	auto   bool // for a consumer whose credit the node grants back
	cancel bool
	reason error
}

// owner is what a queue.Consumer's Owner holds.
type owner struct {
	sess  *session
	queue storage.QueueID
	auto  bool
}

// session is one gateway channel's consumers and unacked messages. Its
// goroutine calls the Sink, serialized, from mu.out; shards append to
// mu.out and never wait for the Sink.
type session struct {
	n    *Node
	id   queue.SessionID
	sink storage.Sink
	// staged holds items a shard produced this iteration; staged[i] is
	// touched only by shard i's goroutine.
	staged [][]item

	mu struct {
		sync.Mutex
		out       []item
		flushing  bool // the goroutine is calling the Sink
		closed    bool
		consumers map[string]consumerRef
		queues    map[storage.QueueID]struct{} // may hold messages of
	}
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	stopped  chan struct{}
	spare    []item  // the goroutine's second buffer
	grants   []grant // the goroutine's scratch
}

func (s *session) halt() { s.stopOnce.Do(func() { close(s.stop) }) }

// isClosed reports whether Close (or Node.Close) has begun.
func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

// Done is closed when the session's goroutine has exited: after Close, or
// after Node.Close once it has handed the consumers' cancellations to the Sink.
func (s *session) Done() <-chan struct{} { return s.stopped }

type consumerRef struct {
	queue storage.QueueID
	auto  bool
}

var _ storage.Session = (*session)(nil)

// OpenSession starts a session whose deliveries go to sink.
func (n *Node) OpenSession(ctx context.Context, sink storage.Sink) (storage.Session, error) {
	if err := n.usable(); err != nil {
		return nil, err
	}
	s := &session{
		n:       n,
		id:      queue.SessionID(n.sessSeq.Add(1)),
		sink:    sink,
		staged:  make([][]item, len(n.shards)),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.mu.consumers = map[string]consumerRef{}
	s.mu.queues = map[storage.QueueID]struct{}{}
	n.sessions.mu.Lock()
	n.sessions.all[s] = struct{}{}
	n.sessions.mu.Unlock()
	go s.run()
	return s, nil
}

// push appends items to the outbox (dropped once the session is closed:
// the close requeues what they carried).
func (s *session) push(items []item) {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return
	}
	s.mu.out = append(s.mu.out, items...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) run() {
	defer close(s.stopped)
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			s.flush() // cancellations queued by Node.Close
			return
		}
		s.flush()
	}
}

// flush hands everything in the outbox to the Sink, then grants back the
// credit of unlimited consumers.
func (s *session) flush() {
	s.mu.Lock()
	items := s.mu.out
	s.mu.out = s.spare[:0]
	s.mu.flushing = len(items) > 0
	s.mu.Unlock()
	if len(items) == 0 {
		s.spare = items
		return
	}
	defer func() {
		s.mu.Lock()
		s.mu.flushing = false
		s.mu.Unlock()
	}()
	batch := make([]storage.Delivery, 0, len(items))
	grants := s.grants[:0]
	for _, it := range items {
		if it.cancel {
			if len(batch) > 0 {
				s.sink.Deliver(batch)
				batch = make([]storage.Delivery, 0, len(items))
			}
			s.sink.Cancelled(it.d.Tag, it.reason)
			continue
		}
		batch = append(batch, it.d)
		if it.auto {
			grants = addGrant(grants, it.d.Tag)
		}
	}
	if len(batch) > 0 {
		s.sink.Deliver(batch) // a fresh slice each time: the Sink may keep it
	}
	clear(items)
	s.spare = items[:0]
	for _, g := range grants {
		s.Grant(g.tag, g.n)
	}
	s.grants = grants[:0]
}

type grant struct {
	tag string
	n   uint32
}

// addGrant counts one delivery of tag; a session has few consumers, so a
// slice beats a map.
func addGrant(gs []grant, tag string) []grant {
	for i := range gs {
		if gs[i].tag == tag {
			gs[i].n++
			return gs
		}
	}
	return append(gs, grant{tag, 1})
}

func (s *session) shardOf(q storage.QueueID) *shard { return s.n.shardOf(q) }

// Consume starts a consumer. An Unlimited consumer gets a window of
// Options.UnlimitedWindow that the node grants back as the Sink takes
// deliveries. Refusals are *reply.Error (404 missing queue, 403 exclusive
// conflicts, 530 tag reuse).
func (s *session) Consume(spec storage.ConsumerSpec) error {
	auto := spec.Unlimited
	credit := spec.Credit
	if auto {
		credit = s.n.opts.UnlimitedWindow
	}
	c := &queue.Consumer{
		Session: s.id, Tag: spec.Tag, NoAck: spec.NoAck, Exclusive: spec.Exclusive,
		Priority: spec.Priority, Credit: credit,
		Owner: &owner{sess: s, queue: spec.Queue, auto: auto},
	}
	s.mu.Lock()
	if _, dup := s.mu.consumers[spec.Tag]; dup || s.mu.closed {
		s.mu.Unlock()
		if dup {
			return reply.Errorf(reply.NotAllowed, "attempt to reuse consumer tag '%s'", spec.Tag)
		}
		return ErrClosed
	}
	s.mu.consumers[spec.Tag] = consumerRef{queue: spec.Queue, auto: auto}
	s.mu.queues[spec.Queue] = struct{}{}
	s.mu.Unlock()
	_, err := s.n.call(context.Background(), s.shardOf(spec.Queue), cmd{kind: cmdConsume, q: spec.Queue, cons: c})
	if err != nil {
		s.mu.Lock()
		delete(s.mu.consumers, spec.Tag)
		s.mu.Unlock()
	}
	return err
}

// Cancel stops a consumer. No delivery for it is handed to the Sink after
// Cancel returns, except in a Deliver call already in progress; those
// still queued are requeued. Its unacked deliveries stay with the session.
func (s *session) Cancel(tag string) error {
	s.mu.Lock()
	ref, ok := s.mu.consumers[tag]
	delete(s.mu.consumers, tag)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	_, err := s.n.call(context.Background(), s.shardOf(ref.queue), cmd{kind: cmdCancel, q: ref.queue, sess: s, tag: tag})
	s.requeueQueued(tag)
	return err
}

// requeueQueued takes the tag's deliveries out of the outbox and returns
// them to their queue.
func (s *session) requeueQueued(tag string) {
	var ops []storage.Settle
	s.mu.Lock()
	kept := s.mu.out[:0]
	for _, it := range s.mu.out {
		if !it.cancel && it.d.Tag == tag {
			ops = append(ops, storage.Settle{Queue: it.d.Queue, ID: it.d.ID, Kind: storage.Requeue})
			continue
		}
		kept = append(kept, it)
	}
	clear(s.mu.out[len(kept):])
	s.mu.out = kept
	s.mu.Unlock()
	if len(ops) > 0 {
		_ = s.settle(ops)
	}
}

// Grant adds credit to a consumer.
func (s *session) Grant(tag string, credit uint32) {
	s.mu.Lock()
	ref, ok := s.mu.consumers[tag]
	s.mu.Unlock()
	if !ok || credit == 0 {
		return
	}
	_ = s.n.send(context.Background(), s.shardOf(ref.queue), cmd{kind: cmdGrant, q: ref.queue, sess: s, tag: tag, n: credit})
}

// Get takes one ready message (basic.get). While the queue's next message
// is not readable yet (in object storage, being fetched) it waits; if ctx
// ends first it returns ctx's error, and the get takes no message.
func (s *session) Get(ctx context.Context, q storage.QueueID, noAck bool) (storage.Delivery, uint64, bool, error) {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return storage.Delivery{}, 0, false, ErrClosed
	}
	if !noAck {
		s.mu.queues[q] = struct{}{}
	}
	s.mu.Unlock()
	r, err := s.n.call(ctx, s.shardOf(q), cmd{ctx: ctx, kind: cmdGet, q: q, sess: s, a: noAck})
	if err != nil {
		return storage.Delivery{}, 0, false, err
	}
	return r.d, r.n, r.ok, nil
}

// Settle acks, requeues or rejects delivered messages. It returns once the
// shards have them queued, in order with this session's other calls;
// messages the session does not hold are ignored. The grants follow the
// settlements.
func (s *session) Settle(ops []storage.Settle, grants []storage.Grant) error {
	if err := s.settle(ops); err != nil {
		return err
	}
	for _, g := range grants {
		s.Grant(g.Tag, g.Credit)
	}
	return nil
}

func (s *session) settle(ops []storage.Settle) error {
	if len(ops) == 0 {
		return nil
	}
	if len(s.n.shards) == 1 {
		return s.n.send(context.Background(), s.n.shards[0], cmd{kind: cmdSettle, sess: s, ops: append([]storage.Settle(nil), ops...)})
	}
	byShard := map[*shard][]storage.Settle{}
	for _, op := range ops {
		sh := s.shardOf(op.Queue)
		byShard[sh] = append(byShard[sh], op)
	}
	for sh, list := range byShard {
		if err := s.n.send(context.Background(), sh, cmd{kind: cmdSettle, sess: s, ops: list}); err != nil {
			return err
		}
	}
	return nil
}

// Barrier returns at once: every call of a session has queued its
// commands on the shards by the time it returns, in order with later calls.
func (s *session) Barrier(context.Context) error { return nil }

// Close ends the session: its consumers are removed and its unacked
// messages requeued, flagged redelivered, before Close returns. Deliveries
// not yet handed to the Sink are dropped (and requeued with the rest).
func (s *session) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	clear(s.mu.out)
	s.mu.out = nil
	queues := s.mu.queues
	s.mu.queues = nil
	s.mu.Unlock()
	byShard := map[*shard][]storage.QueueID{}
	for q := range queues {
		byShard[s.shardOf(q)] = append(byShard[s.shardOf(q)], q)
	}
	var err error
	for sh, qs := range byShard {
		if _, cerr := s.n.call(context.Background(), sh, cmd{kind: cmdCloseSession, sess: s, qs: qs}); cerr != nil && err == nil {
			err = cerr
		}
	}
	s.halt()
	s.n.sessions.mu.Lock()
	delete(s.n.sessions.all, s)
	s.n.sessions.mu.Unlock()
	if errors.Is(err, ErrClosed) {
		err = nil
	}
	return err
}

// cancelSessions tells every session's consumers the node is stopping and
// stops the session goroutines, giving each a moment to call its Sink.
func (n *Node) cancelSessions() {
	n.sessions.mu.Lock()
	all := make([]*session, 0, len(n.sessions.all))
	for s := range n.sessions.all {
		all = append(all, s)
	}
	n.sessions.mu.Unlock()
	reason := reply.Errorf(reply.ConnectionForced, "storage node stopping")
	for _, s := range all {
		s.mu.Lock()
		if s.mu.closed {
			s.mu.Unlock()
			continue
		}
		for tag, ref := range s.mu.consumers {
			s.mu.out = append(s.mu.out, item{d: storage.Delivery{Tag: tag, Queue: ref.queue}, cancel: true, reason: reason})
		}
		s.mu.consumers = map[string]consumerRef{}
		s.mu.closed = true
		s.mu.Unlock()
		s.halt()
	}
	deadline := time.After(time.Second)
	for _, s := range all {
		select {
		case <-s.stopped:
		case <-deadline:
		}
	}
}
