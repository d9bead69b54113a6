package conn

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/gateway/wire"
)

// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): a requester consumes
// the pseudo-queue in no-ack mode; its requests carry a generated reply
// address; replies published to that address through the default exchange go
// straight to the requester's channel, never to a queue.
const (
	replyToQueue  = "amq.rabbitmq.reply-to"
	replyToPrefix = replyToQueue + "."
)

// replyRegistry maps reply addresses to the channels consuming them. It is
// shared by every connection of a gateway.
type replyRegistry struct {
	mu    sync.RWMutex
	chans map[string]*channel
}

func (r *replyRegistry) put(addr string, ch *channel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.chans == nil {
		r.chans = map[string]*channel{}
	}
	r.chans[addr] = ch
}

func (r *replyRegistry) get(addr string) (*channel, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ch, ok := r.chans[addr]
	return ch, ok
}

func (r *replyRegistry) remove(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.chans, addr)
}

func (ch *channel) consumeReplyTo(m *wire.BasicConsume) error {
	if !m.NoAck {
		return reply.Errorf(reply.PreconditionFailed, "reply consumer cannot acknowledge")
	}
	if ch.replyTo != "" {
		return reply.Errorf(reply.PreconditionFailed, "reply consumer already set")
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = newConsumerTag()
	}
	var b [18]byte
	_, _ = rand.Read(b[:])
	ch.mu.Lock()
	ch.replyTo = tag
	ch.replyAddr = replyToPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	addr := ch.replyAddr
	ch.mu.Unlock()
	ch.c.cfg.replies.put(addr, ch)
	return ch.reply(m.NoWait, &wire.BasicConsumeOk{ConsumerTag: tag})
}

// replyToAddress is the address a request published on this channel carries.
func (ch *channel) replyToAddress() (string, error) {
	if ch.replyAddr == "" {
		return "", reply.Errorf(reply.PreconditionFailed, "fast reply consumer does not exist")
	}
	return ch.replyAddr, nil
}

// isReplyAddress reports whether a publish is a reply to a direct reply-to address.
func isReplyAddress(m *wire.BasicPublish) bool {
	return m.Exchange == "" && strings.HasPrefix(m.RoutingKey, replyToPrefix)
}

// deliverReply hands a reply to the requester's channel; a reply to a
// requester that is gone is dropped, as in RabbitMQ.
func (c *Conn) deliverReply(m *wire.BasicPublish, msg *storage.Message) {
	ch, ok := c.cfg.replies.get(m.RoutingKey)
	if !ok {
		return
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.replyTo == "" || ch.closing {
		return // the requester stopped consuming or is closing: dropped
	}
	tag := ch.mu.deliveries.skipTag()
	d := wire.BasicDeliver{ConsumerTag: ch.replyTo, DeliveryTag: tag, Exchange: "", RoutingKey: m.RoutingKey}
	_ = ch.c.out.with(func(w *wire.FrameWriter) error {
		return w.WriteContent(ch.id, &d, basicClass, msg.Properties, msg.Body, ch.c.frameMax)
	})
}

// releaseReplyTo ends a channel's direct reply-to consumer.
func (c *Conn) releaseReplyTo(ch *channel) {
	ch.mu.Lock()
	addr := ch.replyAddr
	ch.replyTo, ch.replyAddr = "", ""
	ch.mu.Unlock()
	if addr != "" {
		c.cfg.replies.remove(addr)
	}
}

// replyToDeclare answers a passive declare of a reply address: it exists
// (0 messages, 1 consumer) while its requester consumes.
func (ch *channel) replyToDeclare(m *wire.QueueDeclare) (bool, error) {
	if !strings.HasPrefix(m.Queue, replyToPrefix) {
		return false, nil
	}
	if _, ok := ch.c.cfg.replies.get(m.Queue); !ok {
		return true, reply.NotFoundQueue(ch.c.vhost, m.Queue)
	}
	return true, ch.reply(m.NoWait, &wire.QueueDeclareOk{Queue: m.Queue, ConsumerCount: 1})
}
