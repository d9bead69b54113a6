package topology

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/reply"
)

// MaxNameLen is the longest exchange or queue name: an AMQP short string.
const MaxNameLen = 255

// CheckName refuses names that are not valid UTF-8 or too long. kind is
// "exchange" or "queue", for the error text.
func CheckName(kind, name string) error {
	if len(name) > MaxNameLen {
		return reply.Errorf(reply.PreconditionFailed, "%s name too long", kind)
	}
	if !utf8.ValidString(name) {
		return reply.Errorf(reply.PreconditionFailed, "%s name is not valid UTF-8", kind)
	}
	return nil
}

// CheckNotReserved refuses to declare names in the amq. namespace, with
// RabbitMQ's text (rabbit_channel.erl).
func CheckNotReserved(kind, vhost, name string) error {
	if strings.HasPrefix(name, "amq.") {
		return reply.Errorf(reply.AccessRefused,
			"%s name '%s' contains reserved prefix 'amq.*'", kind, name)
	}
	return nil
}

// ValidExchangeType reports whether Warren can route an exchange of this type.
func ValidExchangeType(t string) bool {
	switch t {
	case Direct, Fanout, Topic, Headers:
		return true
	}
	return false
}

// ParseExchangeArgs fills AlternateExchange from the arguments.
func (x *Exchange) ParseExchangeArgs() error {
	v, ok := x.Args["alternate-exchange"]
	if !ok {
		return nil
	}
	s, isStr := v.(string)
	if !isStr {
		return reply.Errorf(reply.PreconditionFailed,
			"invalid arg 'alternate-exchange' for exchange '%s' in vhost '%s': {unacceptable_type,%s}",
			x.Name, x.VHost, typeName(v))
	}
	x.AlternateExchange = s
	return nil
}

// EquivalentExchange checks a redeclare against the existing exchange and
// returns RabbitMQ's 406 when a property or argument differs.
func EquivalentExchange(have, want Exchange) error {
	where := fmt.Sprintf("exchange '%s' in vhost '%s'", have.Name, have.VHost)
	switch {
	case have.Type != want.Type:
		return inequivalent("type", where, want.Type, have.Type)
	case have.Durable != want.Durable:
		return inequivalent("durable", where, want.Durable, have.Durable)
	case have.AutoDelete != want.AutoDelete:
		return inequivalent("auto_delete", where, want.AutoDelete, have.AutoDelete)
	case have.Internal != want.Internal:
		return inequivalent("internal", where, want.Internal, have.Internal)
	}
	return equivalentArgs(where, have.Args, want.Args, []string{"alternate-exchange"})
}

// EquivalentQueue checks a redeclare against the existing queue.
func EquivalentQueue(have, want Queue) error {
	where := fmt.Sprintf("queue '%s' in vhost '%s'", have.Name, have.VHost)
	switch {
	case have.Durable != want.Durable:
		return inequivalent("durable", where, want.Durable, have.Durable)
	case have.AutoDelete != want.AutoDelete:
		return inequivalent("auto_delete", where, want.AutoDelete, have.AutoDelete)
	case have.Exclusive != want.Exclusive:
		return inequivalent("exclusive", where, want.Exclusive, have.Exclusive)
	}
	return equivalentArgs(where, have.Args, want.Args, queueArgKeys)
}

// queueArgKeys are the arguments whose values must match on redeclare
// (rabbit_amqqueue:declare_args/0); other arguments are ignored, as RabbitMQ does.
var queueArgKeys = []string{
	"x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
	"x-max-length", "x-max-length-bytes", "x-max-priority", "x-overflow",
	"x-single-active-consumer", "x-queue-type",
}

func equivalentArgs(where string, have, want amqp.Table, keys []string) error {
	for _, k := range keys {
		hv, hok := have[k]
		wv, wok := want[k]
		if k == "x-queue-type" && !wok {
			continue // an omitted queue type means "the default", which is what exists
		}
		if hok && wok && !sameValue(hv, wv) {
			return reply.Errorf(reply.PreconditionFailed,
				"inequivalent arg '%s' for %s: received '%v' but current is '%v'", k, where, wv, hv)
		}
		if hok != wok {
			return reply.Errorf(reply.PreconditionFailed,
				"inequivalent arg '%s' for %s: received %s but current is %s",
				k, where, describe(wv, wok), describe(hv, hok))
		}
	}
	return nil
}

// sameValue compares argument values as RabbitMQ does: integers of different
// AMQP widths are equal when their values are.
func sameValue(a, b any) bool {
	ai, aInt := AsInt(a)
	bi, bInt := AsInt(b)
	if aInt && bInt {
		return ai == bi
	}
	return reflect.DeepEqual(a, b)
}

// describe renders one side of a missing-versus-present argument the way
// rabbit_misc does: "none" or "the value '1000' of type 'signedint'".
func describe(v any, present bool) string {
	if !present {
		return "none"
	}
	return fmt.Sprintf("the value '%v' of type '%s'", v, typeName(v))
}

func inequivalent(field, where string, received, current any) error {
	return reply.Errorf(reply.PreconditionFailed,
		"inequivalent arg '%s' for %s: received '%v' but current is '%v'", field, where, received, current)
}

// CheckXMatch validates a headers binding's x-match argument
// (rabbit_exchange_type_headers:validate_binding/2).
func CheckXMatch(args amqp.Table) error {
	v, ok := args["x-match"]
	if !ok {
		return nil
	}
	switch v {
	case "all", "any", "all-with-x", "any-with-x":
		return nil
	}
	return reply.Errorf(reply.PreconditionFailed,
		"Invalid x-match field value %v; expected all, any, all-with-x, or any-with-x", v)
}

// CheckExclusive refuses access to an exclusive queue from another connection
// (405, checked before any other error, as RabbitMQ does).
func CheckExclusive(q *Queue, conn string) error {
	if q.Exclusive && q.Owner != conn {
		return reply.Errorf(reply.ResourceLocked,
			"cannot obtain exclusive access to locked queue '%s' in vhost '%s'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.",
			q.Name, q.VHost)
	}
	return nil
}
