package conn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/auth"
	"github.com/warrenmq/warren/gateway/wire"
)

// topologyTimeout bounds a declare/bind/delete round trip to the control plane.
const topologyTimeout = 30 * time.Second

// topologyMethod handles exchange.* and queue.* methods; handled is false
// for other methods.
func (ch *channel) topologyMethod(m wire.Method) (handled bool, err error) {
	switch m := m.(type) {
	case *wire.ExchangeDeclare:
		return true, ch.exchangeDeclare(m)
	case *wire.ExchangeDelete:
		return true, ch.exchangeDelete(m)
	case *wire.ExchangeBind:
		return true, ch.exchangeBind(m.Destination, m.Source, m.RoutingKey, m.Arguments, true, m.NoWait)
	case *wire.ExchangeUnbind:
		return true, ch.exchangeBind(m.Destination, m.Source, m.RoutingKey, m.Arguments, false, m.NoWait)
	case *wire.QueueDeclare:
		return true, ch.queueDeclare(m)
	case *wire.QueueBind:
		return true, ch.queueBind(m.Queue, m.Exchange, m.RoutingKey, m.Arguments, true, m.NoWait)
	case *wire.QueueUnbind:
		return true, ch.queueBind(m.Queue, m.Exchange, m.RoutingKey, m.Arguments, false, false)
	case *wire.QueuePurge:
		return true, ch.queuePurge(m)
	case *wire.QueueDelete:
		return true, ch.queueDelete(m)
	}
	return false, nil
}

// reply sends an -ok method unless the client asked for no-wait.
func (ch *channel) reply(noWait bool, m wire.Method) error {
	if noWait {
		return nil
	}
	return ch.c.out.method(ch.id, m)
}

func (ch *channel) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(ch.c.ctx, topologyTimeout)
}

// await waits until this gateway's topology mirror holds revision rev, so the
// client's next method sees its own change.
func (ch *channel) await(ctx context.Context, rev uint64) error {
	if err := ch.c.cfg.Mirror.WaitFor(ctx, rev); err != nil {
		return reply.Errorf(reply.InternalError, "topology not applied: %v", err)
	}
	if ch.c.cfg.ClusterSync != nil {
		ch.c.cfg.ClusterSync(ctx, rev)
	}
	return nil
}

// read runs fn over the connection's instance topology.
func (ch *channel) read(fn func(ix *route.Index)) {
	ch.c.cfg.Mirror.Read(ch.c.inst, fn)
}

func (ch *channel) exchange(name string) (topology.Exchange, bool) {
	var x topology.Exchange
	var ok bool
	ch.read(func(ix *route.Index) { x, ok = ix.Exchange(ch.c.vhost, name) })
	return x, ok
}

func (ch *channel) queue(name string) (*topology.Queue, bool) {
	var q *topology.Queue
	ch.read(func(ix *route.Index) { q, _ = ix.Queue(ch.c.vhost, name) })
	return q, q != nil
}

var errDefaultExchange = reply.Errorf(reply.AccessRefused, "operation not permitted on the default exchange")

func (ch *channel) exchangeDeclare(m *wire.ExchangeDeclare) error {
	if m.Passive {
		if m.Exchange == "" {
			return errDefaultExchange // RabbitMQ 3.10 refuses even a passive declare of it
		}
		if _, ok := ch.exchange(m.Exchange); !ok {
			return reply.NotFoundExchange(ch.c.vhost, m.Exchange)
		}
		return ch.reply(m.NoWait, &wire.ExchangeDeclareOk{})
	}
	if m.Exchange == "" {
		return errDefaultExchange
	}
	if err := ch.c.permit(auth.Configure, "exchange", m.Exchange); err != nil {
		return err
	}
	if err := checkDeclaredName("exchange", ch.c.vhost, m.Exchange); err != nil {
		return err
	}
	if err := ch.checkAlternateExchange(m); err != nil {
		return err
	}
	ctx, cancel := ch.ctx()
	defer cancel()
	res, err := ch.c.cfg.Topology.DeclareExchange(ctx, ch.c.inst, topology.Exchange{
		VHost: ch.c.vhost, Name: m.Exchange, Type: m.Type, Durable: m.Durable,
		AutoDelete: m.AutoDelete, Internal: m.Internal, Args: m.Arguments,
	})
	if err != nil {
		return err
	}
	if err := ch.await(ctx, res.Revision); err != nil {
		return err
	}
	return ch.reply(m.NoWait, &wire.ExchangeDeclareOk{})
}

// checkAlternateExchange applies rabbit_channel's rule for a new exchange
// with an alternate exchange: read on the exchange, write on the AE.
func (ch *channel) checkAlternateExchange(m *wire.ExchangeDeclare) error {
	ae, ok := m.Arguments["alternate-exchange"].(string)
	if !ok {
		return nil
	}
	if _, exists := ch.exchange(m.Exchange); exists {
		return nil
	}
	if err := ch.c.permit(auth.Read, "exchange", m.Exchange); err != nil {
		return err
	}
	return ch.c.permit(auth.Write, "exchange", ae)
}

// checkDeclaredName applies RabbitMQ's name rules to a non-passive declare.
func checkDeclaredName(kind, vhost, name string) error {
	if err := topology.CheckName(kind, name); err != nil {
		return err
	}
	return topology.CheckNotReserved(kind, vhost, name)
}

func (ch *channel) exchangeDelete(m *wire.ExchangeDelete) error {
	if m.Exchange == "" {
		return errDefaultExchange
	}
	if strings.HasPrefix(m.Exchange, "amq.") {
		return reply.Errorf(reply.AccessRefused,
			"deletion of system exchange '%s' in vhost '%s' not allowed", m.Exchange, ch.c.vhost)
	}
	if err := ch.c.permit(auth.Configure, "exchange", m.Exchange); err != nil {
		return err
	}
	ctx, cancel := ch.ctx()
	defer cancel()
	res, err := ch.c.cfg.Topology.DeleteExchange(ctx, ch.c.inst, ch.c.vhost, m.Exchange, m.IfUnused)
	if err != nil {
		return err
	}
	if err := ch.await(ctx, res.Revision); err != nil {
		return err
	}
	return ch.reply(m.NoWait, &wire.ExchangeDeleteOk{})
}

func (ch *channel) exchangeBind(dest, src, key string, args map[string]any, bind, noWait bool) error {
	if err := ch.c.permit(auth.Write, "exchange", dest); err != nil {
		return err
	}
	if dest == "" || src == "" {
		return errDefaultExchange
	}
	if err := ch.c.permit(auth.Read, "exchange", src); err != nil {
		return err
	}
	b := topology.Binding{VHost: ch.c.vhost, Source: src, DestKind: topology.ToExchange, Dest: dest, Key: key, Args: args}
	if err := ch.changeBinding(b, bind); err != nil {
		return err
	}
	if bind {
		return ch.reply(noWait, &wire.ExchangeBindOk{})
	}
	return ch.reply(noWait, &wire.ExchangeUnbindOk{})
}

// changeBinding binds or unbinds through the control plane and waits for it.
func (ch *channel) changeBinding(b topology.Binding, bind bool) error {
	ctx, cancel := ch.ctx()
	defer cancel()
	change := ch.c.cfg.Topology.Unbind
	if bind {
		change = ch.c.cfg.Topology.Bind
	}
	res, err := change(ctx, ch.c.inst, b)
	if err != nil {
		return err
	}
	return ch.await(ctx, res.Revision)
}

// queueName expands the "" shortcut to the channel's last declared queue.
func (ch *channel) queueName(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if ch.lastQueue == "" {
		return "", reply.Errorf(reply.NotFound, "no previously declared queue")
	}
	return ch.lastQueue, nil
}

// ownedQueue looks a queue up by name, refusing a missing one (404) or one
// held exclusively by another connection (405).
func (ch *channel) ownedQueue(name string) (*topology.Queue, error) {
	name, err := ch.queueName(name)
	if err != nil {
		return nil, err
	}
	q, ok := ch.queue(name)
	if !ok {
		return nil, reply.NotFoundQueue(ch.c.vhost, name)
	}
	if err := topology.CheckExclusive(q, ch.c.id); err != nil {
		return nil, err
	}
	return q, nil
}

// permittedQueue expands the "" shortcut, checks op on the queue, then
// looks it up: RabbitMQ checks permissions before existence (404) and
// exclusivity (405).
func (ch *channel) permittedQueue(op auth.Op, name string) (*topology.Queue, error) {
	name, err := ch.queueName(name)
	if err != nil {
		return nil, err
	}
	if err := ch.c.permit(op, "queue", name); err != nil {
		return nil, err
	}
	return ch.ownedQueue(name)
}

func (ch *channel) queueDeclare(m *wire.QueueDeclare) error {
	if m.Passive {
		return ch.queueDeclarePassive(m)
	}
	name := m.Queue
	if name == "" {
		name = serverNamedQueue()
	} else if err := checkDeclaredName("queue", ch.c.vhost, name); err != nil {
		return err
	}
	if err := ch.c.permit(auth.Configure, "queue", name); err != nil {
		return err
	}
	if err := ch.checkDeadLetterExchange(name, m.Arguments); err != nil {
		return err
	}
	ctx, cancel := ch.ctx()
	defer cancel()
	res, err := ch.c.cfg.Topology.DeclareQueue(ctx, ch.c.inst, ch.c.id, topology.Queue{
		VHost: ch.c.vhost, Name: name, Durable: m.Durable, Exclusive: m.Exclusive,
		AutoDelete: m.AutoDelete, Args: m.Arguments,
	})
	if err != nil {
		return err
	}
	if err := ch.await(ctx, res.Revision); err != nil {
		return err
	}
	ch.lastQueue = name
	return ch.reply(m.NoWait, &wire.QueueDeclareOk{
		Queue: name, MessageCount: clamp32(res.Messages), ConsumerCount: res.Consumers,
	})
}

// checkDeadLetterExchange applies rabbit_channel's rule for a new queue
// with a dead-letter exchange: read on the queue, write on the DLX.
func (ch *channel) checkDeadLetterExchange(queue string, args map[string]any) error {
	dlx, ok := args["x-dead-letter-exchange"].(string)
	if !ok {
		return nil
	}
	if _, exists := ch.queue(queue); exists {
		return nil
	}
	if err := ch.c.permit(auth.Read, "queue", queue); err != nil {
		return err
	}
	return ch.c.permit(auth.Write, "exchange", dlx)
}

func (ch *channel) queueDeclarePassive(m *wire.QueueDeclare) error {
	if ok, err := ch.replyToDeclare(m); ok {
		return err
	}
	q, err := ch.ownedQueue(m.Queue)
	if err != nil {
		return err
	}
	ch.c.pub.barrier()
	ch.settled(q)
	node, err := ch.c.storageNode(q)
	if err != nil {
		return err
	}
	_ = node.Touch(ch.c.ctx, q.ID) // a passive declare renews x-expires, as in RabbitMQ 3.10
	st, err := node.Stats(ch.c.ctx, q.ID)
	if err != nil {
		return nodeFailure(q, err)
	}
	ch.lastQueue = q.Name
	return ch.reply(m.NoWait, &wire.QueueDeclareOk{
		Queue: q.Name, MessageCount: clamp32(st.Ready), ConsumerCount: st.Consumers,
	})
}

func (ch *channel) queueBind(queue, exchange, key string, args map[string]any, bind, noWait bool) error {
	queue, err := ch.queueName(queue)
	if err != nil {
		return err
	}
	if err := ch.c.permit(auth.Write, "queue", queue); err != nil {
		return err
	}
	if exchange == "" {
		return errDefaultExchange
	}
	if err := ch.c.permit(auth.Read, "exchange", exchange); err != nil {
		return err
	}
	q, err := ch.ownedQueue(queue)
	if err != nil {
		return err
	}
	b := topology.Binding{VHost: ch.c.vhost, Source: exchange, DestKind: topology.ToQueue, Dest: q.Name, Key: key, Args: args}
	if err := ch.changeBinding(b, bind); err != nil {
		return err
	}
	if bind {
		return ch.reply(noWait, &wire.QueueBindOk{})
	}
	return ch.c.out.method(ch.id, &wire.QueueUnbindOk{})
}

func (ch *channel) queuePurge(m *wire.QueuePurge) error {
	q, err := ch.permittedQueue(auth.Read, m.Queue)
	if err != nil {
		return err
	}
	ch.c.pub.barrier()
	ch.settled(q)
	node, err := ch.c.storageNode(q)
	if err != nil {
		return err
	}
	n, err := node.PurgeQueue(ch.c.ctx, q.ID)
	if err != nil {
		return nodeFailure(q, err)
	}
	return ch.reply(m.NoWait, &wire.QueuePurgeOk{MessageCount: clamp32(n)})
}

func (ch *channel) queueDelete(m *wire.QueueDelete) error {
	name, err := ch.queueName(m.Queue)
	if err != nil {
		return err
	}
	if err := ch.c.permit(auth.Configure, "queue", name); err != nil {
		return err
	}
	ch.c.pub.barrier()
	if q, ok := ch.queue(name); ok {
		ch.settled(q)
	}
	ctx, cancel := ch.ctx()
	defer cancel()
	res, err := ch.c.cfg.Topology.DeleteQueue(ctx, ch.c.inst, ch.c.id, ch.c.vhost, name, m.IfUnused, m.IfEmpty)
	if err != nil {
		return err
	}
	if err := ch.await(ctx, res.Revision); err != nil {
		return err
	}
	return ch.reply(m.NoWait, &wire.QueueDeleteOk{MessageCount: clamp32(res.Messages)})
}

// serverNamedQueue makes a name like RabbitMQ's amq.gen-JzTY20BRgKO-HjmUJj0wLg.
func serverNamedQueue() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "amq.gen-" + base64.RawURLEncoding.EncodeToString(b[:])
}

func clamp32(n uint64) uint32 {
	if n > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(n)
}
