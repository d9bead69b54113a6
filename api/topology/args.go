package topology

import (
	"fmt"
	"math"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
)

// QueueSpec turns a queue's declaration into the storage node's view of it,
// refusing invalid x-arguments with RabbitMQ's 406 texts.
func (q Queue) QueueSpec() (storage.QueueSpec, error) {
	s := storage.QueueSpec{
		ID: q.ID, VHost: q.VHost, Name: q.Name,
		Durable: q.Durable, AutoDelete: q.AutoDelete, Exclusive: q.Exclusive,
		MessageTTL: -1, Expires: -1, MaxLength: -1, MaxLengthBytes: -1,
	}
	p := argParser{table: q.Args, owner: fmt.Sprintf("queue '%s' in vhost '%s'", q.Name, q.VHost)}
	s.MessageTTL = p.nonNegInt("x-message-ttl", -1)
	s.Expires = p.positiveInt("x-expires", -1)
	s.MaxLength = p.nonNegInt("x-max-length", -1)
	s.MaxLengthBytes = p.nonNegInt("x-max-length-bytes", -1)
	if prio := p.nonNegInt("x-max-priority", 0); prio > 255 {
		p.fail("x-max-priority", fmt.Sprintf("{value_too_large,%d,255}", prio))
	} else {
		s.MaxPriority = uint8(prio)
	}
	s.DeadLetterExchange, s.HasDLX = p.str("x-dead-letter-exchange")
	s.DeadLetterRoutingKey, s.HasDLRoutingKey = p.str("x-dead-letter-routing-key")
	if s.HasDLRoutingKey && !s.HasDLX {
		p.fail("x-dead-letter-routing-key", "{routing_key_but_no_dlx_defined}")
	}
	s.Overflow = p.overflow()
	s.SingleActiveConsumer = p.boolean("x-single-active-consumer")
	p.queueType()
	return s, p.err
}

// argParser reads typed x-arguments and keeps the first violation.
type argParser struct {
	table amqp.Table
	owner string
	err   error
}

func (p *argParser) fail(key, why string) {
	if p.err == nil {
		p.err = reply.Errorf(reply.PreconditionFailed, "invalid arg '%s' for %s: %s", key, p.owner, why)
	}
}

// integer reports an integer-typed argument; RabbitMQ accepts every AMQP integer type.
func (p *argParser) integer(key string) (int64, bool) {
	v, ok := p.table[key]
	if !ok {
		return 0, false
	}
	n, isInt := AsInt(v)
	if !isInt {
		p.fail(key, fmt.Sprintf("{unacceptable_type,%s}", typeName(v)))
		return 0, false
	}
	return n, true
}

func (p *argParser) nonNegInt(key string, def int64) int64 {
	n, ok := p.integer(key)
	if !ok {
		return def
	}
	if n < 0 {
		p.fail(key, fmt.Sprintf("{value_negative,%d}", n))
		return def
	}
	return n
}

func (p *argParser) positiveInt(key string, def int64) int64 {
	n, ok := p.integer(key)
	if !ok {
		return def
	}
	if n <= 0 {
		p.fail(key, fmt.Sprintf("{value_zero_or_less,%d}", n))
		return def
	}
	return n
}

func (p *argParser) str(key string) (string, bool) {
	v, ok := p.table[key]
	if !ok {
		return "", false
	}
	s, isStr := v.(string)
	if !isStr {
		p.fail(key, fmt.Sprintf("{unacceptable_type,%s}", typeName(v)))
		return "", false
	}
	return s, true
}

func (p *argParser) boolean(key string) bool {
	v, ok := p.table[key]
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		p.fail(key, fmt.Sprintf("{unacceptable_type,%s}", typeName(v)))
	}
	return b
}

func (p *argParser) overflow() storage.Overflow {
	s, ok := p.str("x-overflow")
	if !ok {
		return storage.DropHead
	}
	switch s {
	case "drop-head":
		return storage.DropHead
	case "reject-publish":
		return storage.RejectPublish
	case "reject-publish-dlx":
		return storage.RejectPublishDLX
	}
	p.fail("x-overflow", fmt.Sprintf("{unknown_value,<<\"%s\">>}", s))
	return storage.DropHead
}

// queueType accepts only classic queues: Warren's queues are classic queues.
func (p *argParser) queueType() {
	s, ok := p.str("x-queue-type")
	if ok && s != "classic" {
		p.fail("x-queue-type", fmt.Sprintf("{unsupported_value,<<\"%s\">>}", s))
	}
}

// AsInt converts any AMQP integer field value to int64.
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case uint8:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint16:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

// typeName is RabbitMQ's name for a field value's AMQP type, used in its
// error texts (rabbit_binary_parser's type atoms).
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "longstr"
	case bool:
		return "bool"
	case int8:
		return "byte"
	case uint8:
		return "unsignedbyte"
	case int16:
		return "short"
	case uint16:
		return "unsignedshort"
	case int32:
		return "signedint"
	case uint32:
		return "unsignedint"
	case int64, int:
		return "long"
	case float32:
		return "float"
	case float64:
		return "double"
	case amqp.Decimal:
		return "decimal"
	case []byte:
		return "binary"
	case amqp.Table:
		return "table"
	case []any:
		return "array"
	case nil:
		return "void"
	}
	return "unknown"
}
