package conn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/auth"
	"github.com/warrenmq/warren/gateway/wire"
)

// consumer is one basic.consume on a channel. Guarded by its channel's mu.
type consumer struct {
	tag       string
	queue     *topology.Queue
	sess      *nodeSession
	noAck     bool
	exclusive bool
	args      amqp.Table         // as basic.consume gave them, for the management API
	announced bool               // consume-ok written; deliveries may follow it
	pending   []storage.Delivery // arrived before consume-ok was written
	cs        creditState
}

// consumeMethod handles consuming and settling methods.
func (ch *channel) consumeMethod(m wire.Method) (bool, error) {
	switch m := m.(type) {
	case *wire.BasicQos:
		return true, ch.qos(m)
	case *wire.BasicConsume:
		return true, ch.consume(m)
	case *wire.BasicCancel:
		return true, ch.cancel(m)
	case *wire.BasicGet:
		return true, ch.get(m)
	case *wire.BasicAck:
		return true, ch.settle(m.DeliveryTag, m.Multiple, storage.Ack)
	case *wire.BasicNack:
		return true, ch.settle(m.DeliveryTag, m.Multiple, requeueKind(m.Requeue))
	case *wire.BasicReject:
		return true, ch.settle(m.DeliveryTag, false, requeueKind(m.Requeue))
	case *wire.BasicRecover:
		return true, ch.recover(m.Requeue, true)
	case *wire.BasicRecoverAsync:
		return true, ch.recover(m.Requeue, false)
	}
	return false, nil
}

func requeueKind(requeue bool) storage.SettleKind {
	if requeue {
		return storage.Requeue
	}
	return storage.Reject
}

func (ch *channel) qos(m *wire.BasicQos) error {
	if m.PrefetchSize != 0 {
		return reply.Errorf(reply.NotImplemented, "prefetch_size!=0 (%d)", m.PrefetchSize)
	}
	ch.mu.Lock()
	var g grants
	if m.Global {
		ch.globalPrefetch = uint32(m.PrefetchCount)
		if ch.globalPrefetch > 0 {
			g = ch.rebalanceLocked()
		}
	} else {
		ch.prefetch = uint32(m.PrefetchCount)
		if ch.globalPrefetch > 0 {
			g = ch.liftGlobalLocked()
		}
		ch.globalPrefetch = 0
	}
	ch.mu.Unlock()
	g.send()
	return ch.c.out.method(ch.id, &wire.BasicQosOk{})
}

func (ch *channel) consume(m *wire.BasicConsume) error {
	if m.Queue == replyToQueue {
		return ch.consumeReplyTo(m)
	}
	q, err := ch.permittedQueue(auth.Read, m.Queue)
	if err != nil {
		return err
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = newConsumerTag()
	}
	if ch.hasConsumer(tag) {
		return reply.Errorf(reply.NotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	priority, err := consumerPriority(m.Arguments)
	if err != nil {
		return err
	}
	sess, err := ch.session(q)
	if err != nil {
		return err
	}
	cons := &consumer{tag: tag, queue: q, sess: sess, noAck: m.NoAck, exclusive: m.Exclusive, args: m.Arguments}
	ch.mu.Lock()
	ch.consumers[tag] = cons
	credit, unlimited := ch.openingCreditLocked(cons)
	ch.mu.Unlock()
	err = sess.s.Consume(storage.ConsumerSpec{
		Queue: q.ID, Tag: tag, Credit: credit, Unlimited: unlimited,
		NoAck: m.NoAck, Exclusive: m.Exclusive, Priority: priority,
	})
	if err != nil {
		ch.mu.Lock()
		ch.removeConsumerLocked(cons)
		ch.mu.Unlock()
		return nodeFailure(q, err)
	}
	if ch.globalPrefetch > 0 && !m.NoAck {
		ch.mu.Lock()
		g := ch.rebalanceLocked()
		ch.mu.Unlock()
		g.send()
	}
	if !m.NoWait {
		if err := ch.c.out.method(ch.id, &wire.BasicConsumeOk{ConsumerTag: tag}); err != nil {
			return err
		}
	}
	ch.announce(cons)
	return nil
}

func (ch *channel) hasConsumer(tag string) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	_, ok := ch.consumers[tag]
	return ok || (tag == ch.replyTo && tag != "")
}

// announce lets deliveries flow to a consumer whose consume-ok is written.
func (ch *channel) announce(cons *consumer) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	cons.announced = true
	pending := cons.pending
	cons.pending = nil
	ch.deliverLocked(cons, pending)
}

func consumerPriority(args map[string]any) (int32, error) {
	v, ok := args["x-priority"]
	if !ok {
		return 0, nil
	}
	n, isInt := topology.AsInt(v)
	if !isInt {
		return 0, reply.Errorf(reply.PreconditionFailed, "invalid arg 'x-priority' for consumer: {unacceptable_type,%T}", v)
	}
	return int32(n), nil
}

func newConsumerTag() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "amq.ctag-" + base64.RawURLEncoding.EncodeToString(b[:])
}

func (ch *channel) cancel(m *wire.BasicCancel) error {
	if m.ConsumerTag == ch.replyTo && ch.replyTo != "" {
		ch.c.releaseReplyTo(ch)
		return ch.reply(m.NoWait, &wire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
	}
	ch.mu.Lock()
	cons, ok := ch.consumers[m.ConsumerTag]
	ch.mu.Unlock()
	if ok {
		// Storage first, with the consumer still registered: deliveries it
		// pushes meanwhile still reach the client (allowed before
		// cancel-ok), and none is orphaned, which for a no-ack consumer,
		// whose messages leave the queue when delivered, would lose them.
		if err := cons.sess.s.Cancel(cons.tag); err != nil {
			ch.c.cfg.Log.Warn("cancel consumer", "tag", cons.tag, "err", err)
		}
		ch.mu.Lock()
		ch.removeConsumerLocked(cons)
		g := ch.rebalanceIfGlobalLocked()
		ch.mu.Unlock()
		g.send()
		ch.c.autoDelete([]*topology.Queue{cons.queue})
	}
	return ch.reply(m.NoWait, &wire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
}

// autoDelete deletes auto-delete queues that have just lost their last
// consumer, before the client hears back, as RabbitMQ does. if-unused guards
// against a consumer that arrived meanwhile on another channel or gateway.
func (c *Conn) autoDelete(queues []*topology.Queue) {
	for _, q := range queues {
		if !q.AutoDelete {
			continue
		}
		node, err := c.storageNode(q)
		if err != nil {
			continue
		}
		if st, err := node.Stats(c.ctx, q.ID); err != nil || st.Consumers > 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), topologyTimeout)
		res, err := c.cfg.Topology.DeleteQueue(ctx, c.inst, c.id, q.VHost, q.Name, true, false)
		if err == nil {
			_ = c.cfg.Mirror.WaitFor(ctx, res.Revision)
		}
		cancel()
	}
}

func (ch *channel) get(m *wire.BasicGet) error {
	q, err := ch.permittedQueue(auth.Read, m.Queue)
	if err != nil {
		return err
	}
	ch.c.pub.barrier()
	sess, err := ch.session(q)
	if err != nil {
		return err
	}
	d, remaining, ok, err := sess.s.Get(ch.c.ctx, q.ID, m.NoAck)
	if err != nil {
		return nodeFailure(q, err)
	}
	if !ok {
		return ch.c.out.method(ch.id, &wire.BasicGetEmpty{})
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var tag uint64
	if m.NoAck {
		tag = ch.mu.deliveries.skipTag()
	} else {
		tag = ch.mu.deliveries.add(delivery{sess: sess, queue: d.Queue, id: d.ID, at: time.Now().UnixNano()})
	}
	ok2 := &wire.BasicGetOk{
		DeliveryTag: tag, Redelivered: d.Redelivered, Exchange: d.Msg.Exchange,
		RoutingKey: d.Msg.RoutingKey, MessageCount: clamp32(remaining),
	}
	return ch.c.out.with(func(w *wire.FrameWriter) error {
		return w.WriteContent(ch.id, ok2, basicClass, d.Msg.Properties, d.Msg.Body, ch.c.frameMax)
	})
}

// settleOp is one delivery and what the client did with it.
type settleOp struct {
	d    delivery
	kind storage.SettleKind
}

// settle handles basic.ack, nack and reject. An unknown tag is a 406 channel
// error, as in RabbitMQ. In a transaction the settlement waits for commit.
func (ch *channel) settle(tag uint64, multiple bool, kind storage.SettleKind) error {
	ch.mu.Lock()
	dls, ok := ch.mu.deliveries.take(tag, multiple)
	ch.mu.Unlock()
	if !ok {
		return reply.Errorf(reply.PreconditionFailed, "unknown delivery tag %d", tag)
	}
	ops := make([]settleOp, len(dls))
	for i, d := range dls {
		ops[i] = settleOp{d: d, kind: kind}
	}
	if ch.tx != nil {
		ch.tx.settles = append(ch.tx.settles, ops...)
		return nil
	}
	if kind == storage.Ack {
		// Plain acks are batched until the reader has no more buffered
		// input (Conn.loop) or another method arrives on the channel: one
		// storage call for a burst instead of one per ack.
		ch.pendingSettles = append(ch.pendingSettles, ops...)
		return nil
	}
	return ch.applySettles(ops)
}

// flushSettles sends the batched acks to storage.
func (ch *channel) flushSettles() error {
	if len(ch.pendingSettles) == 0 {
		return nil
	}
	ops := ch.pendingSettles
	ch.pendingSettles = ch.pendingSettles[:0]
	return ch.applySettles(ops)
}

// applySettles sends settlements to storage, one call per session, and gives
// the consumers their credit back.
//
// Settlements of deliveries whose session the node lost (it restarted) are
// dropped without error: the node took those messages back when it lost the
// session and will deliver them again, so there is nothing left to settle.
// The tags were valid when delivered, so refusing them with 406 "unknown
// delivery tag" would close a channel that did nothing wrong; RabbitMQ, too,
// accepts acks for deliveries of a queue whose node went down and drops them.
// Nor may they reach the node's new session, which does not hold them.
func (ch *channel) applySettles(ops []settleOp) error {
	bySess := map[*nodeSession][]storage.Settle{}
	settled := map[*consumer]uint32{}
	for _, op := range ops {
		bySess[op.d.sess] = append(bySess[op.d.sess], storage.Settle{Queue: op.d.queue, ID: op.d.id, Kind: op.kind})
		if op.d.consumer != nil {
			settled[op.d.consumer]++
		}
	}
	ch.mu.Lock()
	g := ch.settledLocked(settled)
	ch.mu.Unlock()
	for s, list := range bySess {
		freed := g.takeFor(s) // one message per session: the ops and their credit
		if s.ended() {
			continue
		}
		s.unsynced.Store(true)
		if err := s.s.Settle(list, freed); err != nil && !errors.Is(err, storage.ErrSessionLost) {
			return reply.Errorf(reply.InternalError, "settle: %v", err)
		}
	}
	g.send() // credit for consumers of other sessions (global prefetch)
	return nil
}

// rollbackSettles puts a rolled-back transaction's settlements back as unacked.
func (ch *channel) rollbackSettles(ops []settleOp) {
	dls := make([]delivery, len(ops))
	for i, op := range ops {
		dls[i] = op.d
	}
	ch.mu.Lock()
	ch.mu.deliveries.restore(dls)
	ch.mu.Unlock()
}

// recover requeues every unacked delivery of the channel (basic.recover with
// requeue=true); RabbitMQ refuses requeue=false with 540.
func (ch *channel) recover(requeue, answer bool) error {
	if !requeue {
		return reply.Errorf(reply.NotImplemented, "requeue=false")
	}
	ch.mu.Lock()
	dls := ch.mu.deliveries.all()
	ch.mu.Unlock()
	ops := make([]settleOp, len(dls))
	for i, d := range dls {
		ops[i] = settleOp{d: d, kind: storage.Requeue}
	}
	if err := ch.applySettles(ops); err != nil {
		return err
	}
	if !answer {
		return nil
	}
	return ch.c.out.method(ch.id, &wire.BasicRecoverOk{})
}

// checkConsumerTimeoutsLocked closes channels whose oldest unacked delivery
// is older than the consumer timeout, as RabbitMQ does.
func (c *Conn) checkConsumerTimeoutsLocked(now time.Time) {
	limit := c.cfg.ConsumerTimeout
	for _, ch := range c.channels {
		if ch.closing.Load() {
			continue
		}
		ch.mu.Lock()
		oldest := ch.mu.deliveries.oldest()
		ch.mu.Unlock()
		if oldest != 0 && now.UnixNano()-oldest > int64(limit) {
			c.closeChannelLocked(ch, reply.Errorf(reply.PreconditionFailed,
				"delivery acknowledgement on channel %d timed out. Timeout value used: %d ms. This timeout value can be configured, see consumers doc guide to learn more",
				ch.id, limit.Milliseconds()))
		}
	}
}
