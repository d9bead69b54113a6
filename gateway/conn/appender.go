package conn

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/gateway/wire"
)

// appendTimeout bounds one append round trip; past it the publishes are nacked.
const appendTimeout = 30 * time.Second

// maxAppendBatch bounds how many publishes one storage append carries, and
// maxAppendBatchBytes their bodies (a batch always takes its first
// publish): an append travels as one gRPC message, far below its cap.
const (
	maxAppendBatch      = 1024
	maxAppendBatchBytes = 8 << 20
)

// pubReq is one publish on its way to storage.
type pubReq struct {
	ch      *channel
	seq     uint64           // publisher-confirm sequence number; 0 when not confirming
	msg     *storage.Message // points at stored, or at a rewritten copy
	stored  storage.Message
	targets []target
	m       *wire.BasicPublish // for basic.return when every target queue vanished
	buf     *[]byte            // the pooled buffer msg's bytes are in, or nil
	nacked  atomic.Bool        // some queue refused it, or storage failed; set by any node's store goroutine
	lost    atomic.Int32       // targets whose queue was deleted after routing
}

// maxBatchesInFlight bounds the batches a connection has started on the
// storage nodes and not yet confirmed.
const maxBatchesInFlight = 4

// appender is a connection's publishing pipeline. The reader submits
// publishes in order; the appender goroutine takes as many as are waiting,
// groups them by storage node and starts one append each, and the confirmer
// goroutine sends the publisher confirms in order as storage answers. Up to
// maxBatchesInFlight batches are on their way at once: the node applies a
// connection's batches in the order started, so a channel's publishes stay
// in order, and the batches in flight share fsyncs.
//
// Concurrency: in is the only way in; started carries batches from the
// appender goroutine to the confirmer; mu guards the submitted/completed
// counters that barrier waits on.
type appender struct {
	c       *Conn
	in      chan *pubReq
	started chan *startedBatch
	quit    chan struct{}
	mu      struct {
		sync.Mutex
		submitted, completed uint64
		cond                 *sync.Cond
	}
}

func newAppender(c *Conn, queueLen int) *appender {
	a := &appender{c: c, in: make(chan *pubReq, queueLen),
		// In flight: the confirmer's batch, those queued here, and the one
		// run has started and waits to queue.
		started: make(chan *startedBatch, maxBatchesInFlight-2), quit: make(chan struct{})}
	a.mu.cond = sync.NewCond(&a.mu.Mutex)
	return a
}

// submit queues a publish; it blocks while the queue is full, which stops the
// reader and so pushes back on the client through TCP.
func (a *appender) submit(r *pubReq) {
	a.mu.Lock()
	a.mu.submitted++
	a.mu.Unlock()
	select {
	case a.in <- r:
	case <-a.quit:
	}
}

// barrier waits until every publish submitted so far has been stored, so a
// basic.get or queue.purge after a publish sees it, as in RabbitMQ.
func (a *appender) barrier() {
	a.mu.Lock()
	defer a.mu.Unlock()
	target := a.mu.submitted
	for a.mu.completed < target {
		select {
		case <-a.quit:
			return
		default:
		}
		a.mu.cond.Wait()
	}
}

func (a *appender) stop() {
	select {
	case <-a.quit:
	default:
		close(a.quit)
	}
	a.mu.Lock()
	a.mu.cond.Broadcast()
	a.mu.Unlock()
}

// run starts batches; it hands them to the confirmer, which it also runs.
func (a *appender) run() {
	go a.confirmer()
	for {
		var batch []*pubReq
		select {
		case <-a.quit:
			return
		case r := <-a.in:
			batch = a.fill(append(make([]*pubReq, 0, 64), r))
		}
		sb := a.start(batch)
		select {
		case a.started <- sb:
		case <-a.quit:
			sb.cancel()
			return
		}
	}
}

// confirmer waits for each started batch in order and confirms it.
func (a *appender) confirmer() {
	for {
		select {
		case <-a.quit:
			a.abandon()
			return
		case sb := <-a.started:
			sb.wait()
			a.confirm(sb.batch)
			sb.recycleBodies()
			a.mu.Lock()
			a.mu.completed += uint64(len(sb.batch))
			a.mu.cond.Broadcast()
			a.mu.Unlock()
		}
	}
}

// abandon releases the batches still queued for the confirmer once the
// connection is gone: nobody is left to confirm them to.
func (a *appender) abandon() {
	for {
		select {
		case sb := <-a.started:
			sb.cancel()
		default:
			return
		}
	}
}

// fill adds publishes that are already waiting, without blocking.
func (a *appender) fill(batch []*pubReq) []*pubReq {
	bytes := len(batch[0].msg.Body)
	for len(batch) < maxAppendBatch && bytes < maxAppendBatchBytes {
		select {
		case r := <-a.in:
			batch = append(batch, r)
			bytes += len(r.msg.Body)
		default:
			return batch
		}
	}
	return batch
}

// startedBatch is a batch whose appends have been started on its nodes.
type startedBatch struct {
	batch  []*pubReq
	nodes  []*nodeBatch
	cancel context.CancelFunc
}

// start groups the batch by storage node and starts one append on each.
func (a *appender) start(batch []*pubReq) *startedBatch {
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	sb := &startedBatch{batch: batch, cancel: cancel}
	byNode := map[string]*nodeBatch{}
	for _, r := range batch {
		for _, t := range r.targets {
			nb := byNode[t.node]
			if nb == nil {
				nb = &nodeBatch{name: t.node}
				byNode[t.node] = nb
				sb.nodes = append(sb.nodes, nb)
			}
			nb.add(r, t.id)
		}
	}
	for _, nb := range sb.nodes {
		a.startOn(ctx, nb)
	}
	return sb
}

// wait collects every node's outcomes and marks refused publishes nacked.
func (sb *startedBatch) wait() {
	defer sb.cancel()
	for _, nb := range sb.nodes {
		nb.finish()
	}
}

// recycleBodies gives the batch's pooled publish buffers back once it is
// confirmed (a basic.return of a publish whose queues vanished has been
// written), when every node it went to has copied its messages: nothing
// reads them then. Whatever else saw a publish (a direct reply-to, a
// basic.return of an unroutable one) copied it before the publish was
// submitted.
func (sb *startedBatch) recycleBodies() {
	for _, nb := range sb.nodes {
		if !nb.copied {
			return
		}
	}
	for _, r := range sb.batch {
		if r.buf != nil {
			bodyPool.Put(r.buf)
			r.buf, r.msg, r.stored = nil, nil, storage.Message{}
		}
	}
}

// nodeBatch is the part of a batch bound for one node: publishes[i] carries reqs[i].
type nodeBatch struct {
	name      string
	wait      func() ([]storage.Outcome, error) // nil when the node is unknown
	copied    bool                              // the node copied the publishes: see storage.AppendCopier
	log       *slog.Logger
	publishes []storage.Publish
	reqs      []*pubReq
	ids       []storage.QueueID // backing store for the publishes' Queues
}

// add records that r goes to queue id; a request routed to several queues of
// the node becomes one Publish listing them all.
func (nb *nodeBatch) add(r *pubReq, id storage.QueueID) {
	if n := len(nb.reqs); n > 0 && nb.reqs[n-1] == r {
		nb.publishes[n-1].Queues = append(nb.publishes[n-1].Queues, id)
		return
	}
	if len(nb.ids) == cap(nb.ids) {
		nb.ids = make([]storage.QueueID, 0, max(64, 2*cap(nb.ids)))
	}
	nb.ids = append(nb.ids, id)
	one := nb.ids[len(nb.ids)-1 : len(nb.ids) : len(nb.ids)] // full cap: a second queue copies out
	nb.publishes = append(nb.publishes, storage.Publish{Queues: one, Msg: r.msg})
	nb.reqs = append(nb.reqs, r)
}

func (a *appender) startOn(ctx context.Context, nb *nodeBatch) {
	nb.log = a.c.cfg.Log
	if node, ok := a.c.cfg.Node(nb.name); ok {
		nb.wait = node.StartAppend(ctx, nb.publishes)
		_, nb.copied = node.(storage.AppendCopier)
	}
}

// finish waits for the node's outcomes and applies them to the requests.
func (nb *nodeBatch) finish() {
	if nb.wait == nil {
		nb.nackAll()
		return
	}
	outcomes, err := nb.wait()
	if err != nil || len(outcomes) != len(nb.reqs) {
		nb.log.Warn("append failed", "node", nb.name, "err", err)
		nb.nackAll()
		return
	}
	for i, o := range outcomes {
		r := nb.reqs[i]
		if queueGone(o.Err) {
			// Deleted between routing and storing: routed nowhere, as if
			// the delete had come first, which RabbitMQ does not nack.
			r.lost.Add(int32(len(nb.publishes[i].Queues)))
			continue
		}
		if o.Err != nil || len(o.Rejected) > 0 {
			r.nacked.Store(true)
		}
	}
}

// queueGone reports whether a storage error says the queue no longer exists.
func queueGone(err error) bool {
	if err == nil {
		return false
	}
	var re *reply.Error
	return errors.As(err, &re) && re.Code == reply.NotFound
}

func (nb *nodeBatch) nackAll() {
	for _, r := range nb.reqs {
		r.nacked.Store(true)
	}
}

// confirm sends basic.ack/nack for the confirming publishes of the batch, in
// order. Every earlier publish of a channel is confirmed already, so a run of
// acks is one ack with multiple=true.
func (a *appender) confirm(batch []*pubReq) {
	_ = a.c.out.with(func(w *wire.FrameWriter) error {
		var run *pubReq // last ack of the current run
		flush := func() {
			if run != nil {
				_ = w.WriteMethod(run.ch.id, &wire.BasicAck{DeliveryTag: run.seq, Multiple: true})
				run = nil
			}
		}
		for _, r := range batch {
			if r.m != nil && r.m.Mandatory && len(r.targets) > 0 && int(r.lost.Load()) == len(r.targets) {
				flush()
				_ = w.WriteContent(r.ch.id, &wire.BasicReturn{
					ReplyCode: reply.NoRoute, ReplyText: "NO_ROUTE", Exchange: r.m.Exchange, RoutingKey: r.m.RoutingKey,
				}, basicClass, r.msg.Properties, r.msg.Body, r.ch.c.frameMax)
			}
			if r.seq == 0 {
				continue
			}
			if run != nil && run.ch != r.ch {
				flush()
			}
			if r.nacked.Load() {
				flush()
				_ = w.WriteMethod(r.ch.id, &wire.BasicNack{DeliveryTag: r.seq})
				continue
			}
			run = r
		}
		flush()
		return nil
	})
}
