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

// ReplyRelay carries direct reply-to replies between the gateways of a
// deployment, so a responder may reach a requester through any gateway.
// Each gateway's reply addresses name it (its Origin); a reply whose
// address names another gateway is forwarded there and delivered with
// Config.DeliverReply. Without a relay (one gateway, warren serve) every
// address is local.
type ReplyRelay interface {
	// Origin is this gateway's name in its reply addresses: letters, digits,
	// '-' and '_' only, at most MaxReplyOrigin bytes.
	Origin() string
	// Forward sends r towards the gateway named origin, at most once and
	// without waiting: a reply that cannot be delivered (the gateway is gone,
	// the link is down) is dropped, as RabbitMQ drops a stale reply. It must
	// not keep r's slices after it returns.
	Forward(origin string, r Reply)
}

// MaxReplyOrigin bounds a gateway's name in reply addresses.
const MaxReplyOrigin = 64

// Reply is a reply published to a direct reply-to address.
type Reply struct {
	Instance   string // the responder's: a reply reaches only a requester of the same instance
	Address    string // the routing key: amq.rabbitmq.reply-to.<origin>.<token>
	Properties []byte // encoded content properties, as the responder sent them
	Body       []byte
}

// newReplyAddress makes a fresh reply address: the prefix, this gateway's
// origin when there is a relay, and 18 random bytes.
func (cfg *Config) newReplyAddress() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	if cfg.ReplyRelay == nil {
		return replyToPrefix + token
	}
	return replyToPrefix + cfg.ReplyRelay.Origin() + "." + token
}

// replyOrigin returns the gateway an address names; ok is false for an
// address that names none (made without a relay, or not made by Warren).
func replyOrigin(addr string) (origin string, ok bool) {
	rest := strings.TrimPrefix(addr, replyToPrefix)
	origin, _, ok = strings.Cut(rest, ".")
	return origin, ok && ValidReplyOrigin(origin)
}

// ValidReplyOrigin reports whether s may name a gateway in a reply address
// (and so in a relay's routing, e.g. a NATS subject token).
func ValidReplyOrigin(s string) bool {
	if s == "" || len(s) > MaxReplyOrigin {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
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
	addr := ch.c.cfg.newReplyAddress()
	ch.mu.Lock()
	ch.replyTo = tag
	ch.replyAddr = addr
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

// deliverReply hands a reply to the requester's channel, on this gateway or,
// through the relay, on the gateway named in the address. A reply to a
// requester that is gone is dropped, as in RabbitMQ.
func (c *Conn) deliverReply(m *wire.BasicPublish, msg *storage.Message) {
	if c.cfg.DeliverReply(c.inst, m.RoutingKey, msg.Properties, msg.Body) {
		return
	}
	relay := c.cfg.ReplyRelay
	if relay == nil {
		return
	}
	if origin, ok := replyOrigin(m.RoutingKey); ok && origin != relay.Origin() {
		relay.Forward(origin, Reply{Instance: c.inst, Address: m.RoutingKey, Properties: msg.Properties, Body: msg.Body})
	}
}

// DeliverReply writes a reply from a responder of instance inst to the
// channel consuming addr on this gateway, the reply relay's entry point.
// It reports false, having done nothing, when no channel here consumes
// addr: the requester is gone or elsewhere. A requester of another
// instance is as good as gone: instances never reach each other, even
// with a leaked address. It does not keep props or body.
func (cfg *Config) DeliverReply(inst, addr string, props, body []byte) bool {
	ch, ok := cfg.replies.get(addr)
	if !ok {
		return false
	}
	if ch.c.inst != inst {
		return true // dropped, like a reply to a requester that is gone
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.replyTo == "" || ch.closing.Load() {
		return true // the requester stopped consuming or is closing: dropped
	}
	tag := ch.mu.deliveries.skipTag()
	d := wire.BasicDeliver{ConsumerTag: ch.replyTo, DeliveryTag: tag, Exchange: "", RoutingKey: addr}
	_ = ch.c.out.with(func(w *wire.FrameWriter) error {
		return w.WriteContent(ch.id, &d, basicClass, props, body, ch.c.frameMax)
	})
	return true
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
	if req, ok := ch.c.cfg.replies.get(m.Queue); !ok || req.c.inst != ch.c.inst {
		return true, reply.NotFoundQueue(ch.c.vhost, m.Queue)
	}
	return true, ch.reply(m.NoWait, &wire.QueueDeclareOk{Queue: m.Queue, ConsumerCount: 1})
}
