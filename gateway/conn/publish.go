package conn

import (
	"strconv"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/bufpool"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/gateway/auth"
	"github.com/warrenmq/warren/gateway/wire"
)

// maxBodySize is RabbitMQ's hard cap on a declared body size (rabbit.hrl MAX_MSG_SIZE).
const maxBodySize = 512 << 20

// basicClass is the class id of content headers for basic.* methods.
const basicClass = 60

// incoming is a publish being assembled from its method, header and body frames.
type incoming struct {
	m        *wire.BasicPublish
	header   bool
	bodySize uint64
	received uint64
	props    []byte
	body     []byte  // nil while discarding an oversize body
	buf      *[]byte // from bodyPool, holding props and body; nil when allocated
}

// bodyPool holds the buffers of publishes bound for remote storage nodes.
var bodyPool bufpool.Pool

// publishMethod handles basic.publish and the tx/confirm mode switches.
func (ch *channel) publishMethod(m wire.Method) (bool, error) {
	switch m := m.(type) {
	case *wire.BasicPublish:
		if m.Immediate {
			return true, reply.Errorf(reply.NotImplemented, "immediate=true")
		}
		ch.incoming = &incoming{m: m}
		return true, nil
	case *wire.ConfirmSelect:
		return true, ch.confirmSelect(m)
	case *wire.TxSelect:
		return true, ch.txSelect()
	case *wire.TxCommit:
		return true, ch.txCommit()
	case *wire.TxRollback:
		return true, ch.txRollback()
	}
	return false, nil
}

func (ch *channel) confirmSelect(m *wire.ConfirmSelect) error {
	if ch.tx != nil {
		return reply.Errorf(reply.PreconditionFailed, "cannot switch from tx to confirm mode")
	}
	ch.confirm = true
	return ch.reply(m.Nowait, &wire.ConfirmSelectOk{})
}

// content takes a header or body frame of the publish being assembled.
func (ch *channel) content(f wire.Frame) error {
	if ch.closing.Load() {
		return nil
	}
	in := ch.incoming
	if in == nil {
		return reply.Errorf(reply.UnexpectedFrame, "expected method frame, got non method frame instead")
	}
	if f.Type == wire.FrameHeader {
		if in.header {
			return reply.Errorf(reply.UnexpectedFrame, "expected content body, got non content body frame instead")
		}
		return ch.header(in, f.Payload)
	}
	if !in.header {
		return reply.Errorf(reply.UnexpectedFrame, "expected content header for class 60, got non content header frame instead")
	}
	return ch.bodyFrame(in, f.Payload)
}

func (ch *channel) header(in *incoming, payload []byte) error {
	class, size, props, err := amqp.ParseHeader(payload)
	if err != nil {
		return reply.Errorf(reply.FrameError, "malformed content header: %v", err)
	}
	if class != basicClass {
		return reply.Errorf(reply.UnexpectedFrame, "expected content header for class 60, got one for class %d instead", class)
	}
	if size > maxBodySize {
		return reply.Errorf(reply.FrameError, "content body size %d exceeds maximum allowed size %d", size, maxBodySize)
	}
	in.header, in.bodySize = true, size
	if size > uint64(ch.c.maxMessage) {
		in.props = append([]byte(nil), props...) // the body is discarded
	} else {
		// One buffer holds the properties and the body after them.
		n := len(props) + int(size)
		var buf []byte
		if ch.c.cfg.RemoteStorage {
			in.buf = bodyPool.Get(n)
			buf = (*in.buf)[:0:n]
		} else {
			buf = make([]byte, 0, n)
		}
		buf = append(buf, props...)
		in.props, in.body = buf[:len(props):len(props)], buf[len(props):]
	}
	if size == 0 {
		return ch.completePublish(in)
	}
	return nil
}

func (ch *channel) bodyFrame(in *incoming, payload []byte) error {
	in.received += uint64(len(payload))
	if in.received > in.bodySize {
		return reply.Errorf(reply.FrameError, "body frames exceed declared content size %d", in.bodySize)
	}
	if in.body != nil {
		in.body = append(in.body, payload...)
	}
	if in.received == in.bodySize {
		return ch.completePublish(in)
	}
	return nil
}

// completePublish validates, routes and hands over a fully received message.
func (ch *channel) completePublish(in *incoming) error {
	ch.incoming = nil
	if in.body == nil {
		return ch.wrap(reply.Errorf(reply.PreconditionFailed,
			"message size %d is larger than configured max size %d", in.bodySize, ch.c.maxMessage), in.m)
	}
	if err := ch.c.permit(auth.Write, "exchange", in.m.Exchange); err != nil {
		return ch.wrap(err, in.m)
	}
	req := &pubReq{ch: ch, m: in.m, buf: in.buf}
	msg := &req.stored
	req.msg = msg
	headers, err := ch.buildMessage(in, msg)
	if err != nil {
		return ch.wrap(err, in.m)
	}
	var targets []target
	if isReplyAddress(in.m) {
		ch.c.deliverReply(in.m, msg) // always counts as routed
	} else if targets, err = ch.routeMessage(in.m, headers, msg); err != nil {
		return ch.wrap(err, in.m)
	} else if len(targets) == 0 && in.m.Mandatory {
		if err := ch.returnMessage(in.m, msg, reply.NoRoute, "NO_ROUTE"); err != nil {
			return err
		}
	}
	req.targets = targets
	if ch.confirm {
		ch.nextSeq++
		req.seq = ch.nextSeq
	}
	if ch.tx != nil {
		ch.tx.publishes = append(ch.tx.publishes, req)
		return nil
	}
	ch.c.pub.submit(req)
	return nil
}

// buildMessage checks the properties (expiration, user-id) and fills msg
// with the storage fields. It returns the headers for routing.
func (ch *channel) buildMessage(in *incoming, msg *storage.Message) (amqp.Table, error) {
	props, err := amqp.DecodeProperties(in.props)
	if err != nil {
		return nil, reply.Errorf(reply.FrameError, "malformed content properties: %v", err)
	}
	*msg = storage.Message{
		Exchange: in.m.Exchange, RoutingKey: in.m.RoutingKey, Properties: in.props, Body: in.body,
		Persistent: props.DeliveryMode == 2, Priority: props.Priority, TTL: -1,
	}
	if props.Flags&amqp.FlagExpiration != 0 {
		ttl, err := strconv.ParseInt(props.Expiration, 10, 64)
		if err != nil || ttl < 0 {
			return nil, reply.Errorf(reply.PreconditionFailed, "invalid expiration '%s'", props.Expiration)
		}
		msg.TTL = ttl
	}
	if props.Flags&amqp.FlagUserID != 0 && props.UserID != ch.c.user && props.UserID != ch.c.loginName {
		return nil, reply.Errorf(reply.PreconditionFailed,
			"user_id property set to '%s' but authenticated user was '%s'", props.UserID, ch.c.user)
	}
	if err := ch.rewriteProperties(msg, &props); err != nil {
		return nil, err
	}
	return props.Headers, nil
}

// rewriteProperties applies the changes RabbitMQ makes before storing: BCC
// is removed (sender-selected distribution) and a direct reply-to address is
// filled in. Untouched properties keep the client's exact bytes.
func (ch *channel) rewriteProperties(msg *storage.Message, p *amqp.Properties) error {
	_, hasBCC := p.Headers["BCC"]
	rewriteReplyTo := p.Flags&amqp.FlagReplyTo != 0 && p.ReplyTo == replyToQueue
	if !hasBCC && !rewriteReplyTo {
		return nil
	}
	out := *p
	if hasBCC {
		out.Headers = make(amqp.Table, len(p.Headers))
		for k, v := range p.Headers {
			if k != "BCC" {
				out.Headers[k] = v
			}
		}
	}
	if rewriteReplyTo {
		addr, err := ch.replyToAddress()
		if err != nil {
			return err
		}
		out.ReplyTo = addr
	}
	raw, err := out.Append(nil)
	if err != nil {
		return reply.Errorf(reply.InternalError, "encode properties: %v", err)
	}
	msg.Properties = raw
	return nil
}

// target is a queue a message goes to.
type target struct {
	node string
	id   storage.QueueID
}

// routeMessage finds the message's queues, refusing a missing (404) or
// internal (403) exchange.
func (ch *channel) routeMessage(m *wire.BasicPublish, headers amqp.Table, msg *storage.Message) ([]target, error) {
	var targets []target
	var err error
	ch.read(func(ix *route.Index) {
		x, ok := ix.Exchange(ch.c.vhost, m.Exchange)
		switch {
		case !ok:
			err = reply.NotFoundExchange(ch.c.vhost, m.Exchange)
		case x.Internal:
			err = reply.Errorf(reply.AccessRefused, "cannot publish to internal exchange '%s' in vhost '%s'", m.Exchange, ch.c.vhost)
		default:
			ch.routeBuf = ix.Route(ch.c.vhost, m.Exchange, m.RoutingKey, headers, ch.routeBuf)
			if len(ch.routeBuf) > 0 {
				targets = make([]target, len(ch.routeBuf))
				for i, q := range ch.routeBuf {
					targets[i] = target{node: q.Node, id: q.ID}
				}
			}
		}
	})
	return targets, err
}

// returnMessage sends basic.return with the message's content.
func (ch *channel) returnMessage(m *wire.BasicPublish, msg *storage.Message, code uint16, text string) error {
	ret := &wire.BasicReturn{ReplyCode: code, ReplyText: text, Exchange: m.Exchange, RoutingKey: m.RoutingKey}
	return ch.c.out.with(func(w *wire.FrameWriter) error {
		return w.WriteContent(ch.id, ret, basicClass, msg.Properties, msg.Body, ch.c.frameMax)
	})
}
