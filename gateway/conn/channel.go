package conn

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/wire"
)

// channel is one AMQP channel of a connection.
//
// Concurrency: fields above mu are owned by the connection's reader (under
// Conn.dispatchMu). mu guards the delivery state that storage sinks also
// touch when they push deliveries.
type channel struct {
	c       *Conn
	id      uint16
	closing atomic.Bool // channel.close sent; waiting for close-ok. Atomic: reply relays read it from other goroutines

	incoming  *incoming         // the publish being assembled from its frames
	routeBuf  []*topology.Queue // reused by routeMessage
	confirm   bool
	nextSeq   uint64 // publish sequence number in confirm mode
	tx        *txBuffer
	lastQueue string // the last server-named queue, for "" shortcuts

	prefetch       uint32 // basic.qos global=false: for consumers created after it
	globalPrefetch uint32 // basic.qos global=true: shared by the channel
	consumers      map[string]*consumer
	pendingSettles []settleOp              // validated acks not yet sent to storage; see flushSettles
	sessions       map[string]*nodeSession // by storage node name
	replyTo        string                  // direct reply-to consumer tag; written under mu (replies read it)
	replyAddr      string                  // the reply address requests carry; written under mu

	mu struct {
		sync.Mutex
		deliveries deliveries
		order      []*consumer       // manual-ack consumers, for the global prefetch budget
		rr         int               // where the next budget round starts
		unacked    uint32            // manual-ack consumer deliveries not yet settled
		creditOut  uint32            // credit granted to storage and not yet used
		deliver    wire.BasicDeliver // scratch for writing deliveries
	}
}

func newChannel(c *Conn, id uint16) *channel {
	ch := &channel{c: c, id: id, consumers: map[string]*consumer{}, sessions: map[string]*nodeSession{}}
	ch.mu.deliveries.init()
	return ch
}

// wrap attaches the failing method to a refusal so the close names it.
func (ch *channel) wrap(err error, m wire.Method) error {
	var re *reply.Error
	if !errors.As(err, &re) {
		re = reply.Errorf(reply.InternalError, "%v", err)
	}
	if re.ClassID == 0 && m != nil {
		re.ClassID, re.MethodID = m.ClassID(), m.MethodID()
	}
	return &channelError{ch: ch, err: re}
}

// whileClosing handles methods that arrive after the server sent channel.close.
func (ch *channel) whileClosing(m wire.Method) error {
	switch m.(type) {
	case *wire.ChannelCloseOk:
		delete(ch.c.channels, ch.id)
	case *wire.ChannelClose:
		_ = ch.c.out.method(ch.id, &wire.ChannelCloseOk{})
		delete(ch.c.channels, ch.id)
	}
	return nil
}

// handle dispatches one method of an open channel.
func (ch *channel) handle(m wire.Method) error {
	if in := ch.incoming; in != nil {
		if in.header {
			return reply.Errorf(reply.UnexpectedFrame, "expected content body, got non content body frame instead")
		}
		return reply.Errorf(reply.UnexpectedFrame,
			"expected content header for class 60, got non content header frame instead")
	}
	if _, isAck := m.(*wire.BasicAck); !isAck {
		if err := ch.flushSettles(); err != nil {
			return err
		}
	}
	switch m := m.(type) {
	case *wire.ChannelClose:
		ch.c.pub.barrier() // confirms of earlier publishes go out before close-ok
		ch.release()
		delete(ch.c.channels, ch.id)
		return ch.c.out.method(ch.id, &wire.ChannelCloseOk{})
	case *wire.ChannelFlow:
		if !m.Active {
			return reply.Errorf(reply.NotImplemented, "active=false")
		}
		return ch.c.out.method(ch.id, &wire.ChannelFlowOk{Active: true})
	}
	if handled, err := ch.topologyMethod(m); handled {
		return err
	}
	if handled, err := ch.publishMethod(m); handled {
		return err
	}
	if handled, err := ch.consumeMethod(m); handled {
		return err
	}
	return reply.Errorf(reply.CommandInvalid, "unimplemented method '%s'", m.Name())
}

// release cancels the channel's consumers and returns its unacked messages
// to their queues (by closing its storage sessions), and forgets pending
// transactional work.
func (ch *channel) release() {
	// Acks the client sent before leaving count: apply them before the
	// sessions close and requeue what is still unacked.
	if err := ch.flushSettles(); err != nil {
		ch.c.cfg.Log.Warn("settling acks on channel close", "channel", ch.id, "err", err)
	}
	ch.tx = nil
	ch.incoming = nil
	ch.mu.Lock()
	var queues []*topology.Queue
	for _, cons := range ch.consumers {
		queues = append(queues, cons.queue)
	}
	ch.consumers = map[string]*consumer{}
	ch.mu.deliveries.init()
	ch.mu.order, ch.mu.unacked, ch.mu.creditOut = nil, 0, 0
	ch.mu.Unlock()
	for name, s := range ch.sessions {
		s.close()
		delete(ch.sessions, name)
	}
	ch.c.releaseReplyTo(ch)
	ch.c.autoDelete(queues)
}

// session returns the channel's storage session on a node, opening it on
// first use, and again after the node lost the previous one (it restarted):
// that one's consumers are cancelled and its deliveries are settled no more
// (see applySettles), so the channel goes on with a fresh session.
func (ch *channel) session(q *topology.Queue) (*nodeSession, error) {
	node := q.Node
	if s, ok := ch.sessions[node]; ok {
		if !s.ended() {
			return s, nil
		}
		delete(ch.sessions, node)
	}
	n, err := ch.c.storageNode(q)
	if err != nil {
		return nil, err
	}
	s := &nodeSession{ch: ch, name: node}
	sess, err := n.OpenSession(ch.c.ctx, s)
	if err != nil {
		return nil, nodeFailure(q, err)
	}
	s.s = sess
	ch.sessions[node] = s
	return s, nil
}

// settled waits until q's node has taken the settlements this channel
// sent it, so the queue operation that follows (stats, purge, delete) sees
// them, as RabbitMQ orders a channel's acks before its next queue method.
// Best effort: a session that fails here fails the operation's call too.
func (ch *channel) settled(q *topology.Queue) {
	s, ok := ch.sessions[q.Node]
	if !ok || s.ended() || !s.unsynced.Swap(false) {
		return
	}
	ctx, cancel := ch.ctx()
	defer cancel()
	_ = s.s.Barrier(ctx)
}

// storageNode returns the node that owns q.
func (c *Conn) storageNode(q *topology.Queue) (storage.Node, error) {
	n, ok := c.cfg.Node(q.Node)
	if !ok {
		return nil, homeNodeDown(q)
	}
	return n, nil
}

// homeNodeDown is RabbitMQ's answer for a queue whose node is down
// (rabbit_misc:absent/2, nodedown): 404, closing only the channel.
func homeNodeDown(q *topology.Queue) error {
	what := "queue"
	if q.Durable {
		what = "durable queue"
	}
	return reply.Errorf(reply.NotFound, "home node '%s' of %s '%s' in vhost '%s' is down or inaccessible", q.Node, what, q.Name, q.VHost)
}

// nodeFailure turns a call's failure to reach q's node into homeNodeDown;
// other errors pass through.
func nodeFailure(q *topology.Queue, err error) error {
	if errors.Is(err, storage.ErrNodeUnavailable) || errors.Is(err, storage.ErrSessionLost) {
		return homeNodeDown(q)
	}
	return err
}
