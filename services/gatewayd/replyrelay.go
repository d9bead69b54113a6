package gatewayd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/gateway/conn"
)

// replySubjectPrefix starts the core NATS subject each gateway receives the
// direct reply-to replies for its requesters on: warren.replyto.<gateway id>.
// Core NATS, not JetStream: a reply is best effort, as in RabbitMQ, and a
// reply to a gateway that is gone reaches no subscriber and is dropped.
const replySubjectPrefix = "warren.replyto."

// replyRelay is the gateway's conn.ReplyRelay over NATS. A reply larger
// than the NATS server's max_payload (1 MiB by default) cannot be carried
// and is dropped with a warning.
type replyRelay struct {
	nc  *nats.Conn
	id  string
	log *slog.Logger
}

var _ conn.ReplyRelay = (*replyRelay)(nil)

func (r *replyRelay) Origin() string { return r.id }

// Forward publishes the reply to the origin gateway's subject; NATS copies
// the bytes before Publish returns.
func (r *replyRelay) Forward(origin string, rep conn.Reply) {
	if !conn.ValidReplyOrigin(origin) {
		return // not a subject token we may publish to; conn checks it too
	}
	if err := r.nc.Publish(replySubjectPrefix+origin, encodeReply(rep)); err != nil {
		r.log.Warn("reply to another gateway dropped", "gateway", origin, "bytes", len(rep.Body), "err", err)
	}
}

// serveReplies delivers the replies other gateways forward to this one
// until the subscription is unsubscribed. The NATS client runs the handler
// on one goroutine, in arrival order; delivering only queues frames.
func serveReplies(nc *nats.Conn, id string, cfg *conn.Config, log *slog.Logger) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(replySubjectPrefix+id, func(m *nats.Msg) {
		rep, err := decodeReply(m.Data)
		if err != nil {
			log.Warn("bad forwarded reply", "err", err)
			return
		}
		cfg.DeliverReply(rep.Instance, rep.Address, rep.Properties, rep.Body)
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", replySubjectPrefix+id, err)
	}
	return sub, nil
}

// A forwarded reply is: instance length (uint8), instance, address length
// (uint16), address, properties length (uint32), properties, body (the
// rest). Instance names are DNS labels, at most 63 bytes.
const replyHeader = 1 + 2 + 4

func encodeReply(r conn.Reply) []byte {
	b := make([]byte, 0, replyHeader+len(r.Instance)+len(r.Address)+len(r.Properties)+len(r.Body))
	b = append(b, byte(len(r.Instance)))
	b = append(b, r.Instance...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Address)))
	b = append(b, r.Address...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Properties)))
	b = append(b, r.Properties...)
	return append(b, r.Body...)
}

var errShortReply = errors.New("forwarded reply: truncated")

// decodeReply parses encodeReply's output; the result aliases b.
func decodeReply(b []byte) (conn.Reply, error) {
	if len(b) < 1 || len(b) < 1+int(b[0])+2 {
		return conn.Reply{}, errShortReply
	}
	r := conn.Reply{Instance: string(b[1 : 1+int(b[0])])}
	b = b[1+int(b[0]):]
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < n+4 {
		return conn.Reply{}, errShortReply
	}
	r.Address = string(b[:n])
	b = b[n:]
	p := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) < uint64(p) {
		return conn.Reply{}, errShortReply
	}
	r.Properties, r.Body = b[:p:p], b[p:]
	return r, nil
}
