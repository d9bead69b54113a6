package e2e

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestPredeclaredExchanges: every vhost has the amq.* exchanges (passive declare
// succeeds whatever type is passed, since passive ignores it).
func TestPredeclaredExchanges(t *testing.T) {
	pending(t)
	ch := channel(t)
	for _, name := range []string{"amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match", "amq.rabbitmq.trace"} {
		if err := ch.ExchangeDeclarePassive(name, "direct", true, false, false, false, nil); err != nil {
			t.Fatalf("passive declare %s: %v", name, err)
		}
	}
}

// TestPredeclaredExchangeRouting: each amq.* exchange routes as its type says, and
// the default exchange routes by queue name.
func TestPredeclaredExchangeRouting(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	bindQueue(t, ch, q, "k.1", "amq.direct", nil)
	bindQueue(t, ch, q, "k.*", "amq.topic", nil)
	bindQueue(t, ch, q, "", "amq.fanout", nil)
	bindQueue(t, ch, q, "", "amq.headers", amqp.Table{"e2e": q})
	publishConfirmed(t, ch, "amq.direct", "k.1", text("direct"))
	publishConfirmed(t, ch, "amq.topic", "k.2", text("topic"))
	publishConfirmed(t, ch, "amq.fanout", "whatever", text("fanout"))
	publishConfirmed(t, ch, "amq.headers", "", amqp.Publishing{Headers: amqp.Table{"e2e": q}, Body: []byte("headers")})
	publishConfirmed(t, ch, "", q, text("default"))
	got := drainBodies(t, ch, q)
	want := []string{"direct", "topic", "fanout", "headers", "default"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestDirectExchange: a direct exchange delivers to queues whose binding key equals
// the routing key exactly; one queue bound twice gets one copy.
func TestDirectExchange(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	ex := newExchange(t, ch, "direct", nil)
	q1, q2 := newQueue(t, ch, nil), newQueue(t, ch, nil)
	bindQueue(t, ch, q1, "a", ex, nil)
	bindQueue(t, ch, q1, "b", ex, nil)
	bindQueue(t, ch, q2, "b", ex, nil)
	for _, k := range []string{"a", "b", "c", "A", ""} {
		publishConfirmed(t, ch, ex, k, text(k))
	}
	if got := drainBodies(t, ch, q1); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("q1 got %q, want [a b]", got)
	}
	if got := drainBodies(t, ch, q2); !slices.Equal(got, []string{"b"}) {
		t.Errorf("q2 got %q, want [b]", got)
	}
}

// TestFanoutExchange: fanout ignores the routing key and delivers one copy to every
// bound queue.
func TestFanoutExchange(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	ex := newExchange(t, ch, "fanout", nil)
	q1, q2 := newQueue(t, ch, nil), newQueue(t, ch, nil)
	bindQueue(t, ch, q1, "x", ex, nil)
	bindQueue(t, ch, q1, "y", ex, nil)
	bindQueue(t, ch, q2, "", ex, nil)
	publishConfirmed(t, ch, ex, "anything", text("m1"))
	publishConfirmed(t, ch, ex, "", text("m2"))
	for _, q := range []string{q1, q2} {
		if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"m1", "m2"}) {
			t.Errorf("%s got %q, want [m1 m2]", q, got)
		}
	}
}

// TestTopicExchange: topic patterns with *, #, empty words and empty keys, each
// checked against the same set of routing keys. RabbitMQ splits "" into zero
// words, so "*" does not match "" but "#" does, and "a." has an empty second word.
func TestTopicExchange(t *testing.T) {
	pending(t)
	keys := []string{"", "a", "b", "a.b", "b.a", "a.c", "a.b.c", "a.x.c", "a.x.y.c", "a..b", "a.", ".a"}
	cases := []struct {
		pattern string
		want    []string
	}{
		{"#", keys},
		{"#.#", keys},
		{"*", []string{"a", "b"}},
		{"", []string{""}},
		{"a.b", []string{"a.b"}},
		{"a.*", []string{"a.b", "a.c", "a."}},
		{"*.b", []string{"a.b"}},
		{"*.*", []string{"a.b", "b.a", "a.c", "a.", ".a"}},
		{"a.#", []string{"a", "a.b", "a.c", "a.b.c", "a.x.c", "a.x.y.c", "a..b", "a."}},
		{"#.a", []string{"a", "b.a", ".a"}},
		{"a.*.c", []string{"a.b.c", "a.x.c"}},
		{"a.#.c", []string{"a.c", "a.b.c", "a.x.c", "a.x.y.c"}},
		{"#.b.#", []string{"b", "a.b", "b.a", "a.b.c", "a..b"}},
		{"a..b", []string{"a..b"}},
		{"a.*.b", []string{"a..b"}},
		{"*.#", []string{"a", "b", "a.b", "b.a", "a.c", "a.b.c", "a.x.c", "a.x.y.c", "a..b", "a.", ".a"}},
	}
	ch := confirmChannel(t)
	ex := newExchange(t, ch, "topic", nil)
	queues := make([]string, len(cases))
	for i, c := range cases {
		queues[i] = newQueue(t, ch, nil)
		bindQueue(t, ch, queues[i], c.pattern, ex, nil)
	}
	for _, k := range keys {
		publishConfirmed(t, ch, ex, k, text(k))
	}
	for i, c := range cases {
		if got := drainBodies(t, ch, queues[i]); !slices.Equal(got, c.want) {
			t.Errorf("pattern %q matched %q, want %q", c.pattern, got, c.want)
		}
	}
}

// TestHeadersExchange: x-match all, any, all-with-x, any-with-x; x- arguments are
// ignored unless the -with-x form is used; a void binding value matches any value;
// values must have equal types.
func TestHeadersExchange(t *testing.T) {
	pending(t)
	messages := map[string]amqp.Table{
		"ab":      {"a": int32(1), "b": "x"},
		"a":       {"a": int32(1)},
		"abc":     {"a": int32(1), "b": "x", "c": true},
		"a-str":   {"a": "1", "b": "x"},
		"a-long":  {"a": int64(1), "b": "x"},
		"bc":      {"b": "x", "c": int32(2)},
		"c":       {"c": int32(2)},
		"xk":      {"x-k": "v"},
		"xk-a":    {"x-k": "v", "a": int32(1)},
		"a-other": {"a": "other"},
		"none":    nil,
	}
	order := []string{"ab", "a", "abc", "a-str", "a-long", "bc", "c", "xk", "xk-a", "a-other", "none"}
	cases := []struct {
		name    string
		binding amqp.Table
		want    []string
	}{
		{"all", amqp.Table{"x-match": "all", "a": int32(1), "b": "x"}, []string{"ab", "abc", "a-long"}},
		{"default-is-all", amqp.Table{"a": int32(1), "b": "x"}, []string{"ab", "abc", "a-long"}},
		{"any", amqp.Table{"x-match": "any", "a": int32(1), "b": "x"}, []string{"ab", "a", "abc", "a-str", "a-long", "bc", "xk-a"}},
		{"all-only-x-args", amqp.Table{"x-match": "all", "x-k": "v"}, order},
		{"any-ignores-x", amqp.Table{"x-match": "any", "x-k": "v", "c": int32(2)}, []string{"bc", "c"}},
		{"all-with-x", amqp.Table{"x-match": "all-with-x", "x-k": "v", "a": int32(1)}, []string{"xk-a"}},
		{"any-with-x", amqp.Table{"x-match": "any-with-x", "x-k": "v", "c": int32(2)}, []string{"bc", "c", "xk", "xk-a"}},
		{"void-matches-presence", amqp.Table{"x-match": "all", "a": nil}, []string{"ab", "a", "abc", "a-str", "a-long", "xk-a", "a-other"}},
	}
	ch := confirmChannel(t)
	ex := newExchange(t, ch, "headers", nil)
	queues := make([]string, len(cases))
	for i, c := range cases {
		queues[i] = newQueue(t, ch, nil)
		bindQueue(t, ch, queues[i], "ignored", ex, c.binding)
	}
	for _, m := range order {
		publishConfirmed(t, ch, ex, "rk", amqp.Publishing{Headers: messages[m], Body: []byte(m)})
	}
	for i, c := range cases {
		if got := drainBodies(t, ch, queues[i]); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestHeadersInvalidXMatch: an unknown x-match value on a binding → 406.
func TestHeadersInvalidXMatch(t *testing.T) {
	pending(t)
	ch := channel(t)
	ex := newExchange(t, ch, "headers", nil)
	q := newQueue(t, ch, nil)
	err := ch.QueueBind(q, "", ex, false, amqp.Table{"x-match": "some"})
	e := expectChannelClose(t, ch, err, amqp.PreconditionFailed)
	expectTextPrefix(t, e, "PRECONDITION_FAILED - Invalid x-match field value")
}

// TestInternalExchange: publishing to an internal exchange → 403; it still routes
// what reaches it through an exchange-to-exchange binding.
func TestInternalExchange(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	internal := uniqueName(t, "internal")
	if err := ch.ExchangeDeclare(internal, "fanout", false, false, true, false, nil); err != nil {
		t.Fatalf("declare internal: %v", err)
	}
	cleanupExchange(t, internal)
	src := newExchange(t, ch, "fanout", nil)
	q := newQueue(t, ch, nil)
	bindQueue(t, ch, q, "", internal, nil)
	if err := ch.ExchangeBind(internal, "", src, false, nil); err != nil {
		t.Fatalf("bind internal to source: %v", err)
	}
	publishConfirmed(t, ch, src, "", text("via-e2e"))
	if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"via-e2e"}) {
		t.Errorf("got %q, want [via-e2e]", got)
	}

	pub := channel(t)
	closed := watchClose(pub)
	publish(t, pub, internal, "", text("direct"))
	e := asAMQPError(t, awaitClose(t, closed), amqp.AccessRefused)
	expectText(t, e, "ACCESS_REFUSED - cannot publish to internal exchange '"+internal+"' in vhost '/'")
}

// TestAutoDeleteExchange: an auto-delete exchange is not deleted before it ever had
// a binding, and is deleted when its last binding goes (unbind or queue delete).
func TestAutoDeleteExchange(t *testing.T) {
	pending(t)
	ch := channel(t)
	ex := uniqueName(t, "ad")
	if err := ch.ExchangeDeclare(ex, "direct", false, true, false, false, nil); err != nil {
		t.Fatalf("declare: %v", err)
	}
	cleanupExchange(t, ex)
	q1, q2 := newQueue(t, ch, nil), newQueue(t, ch, nil)
	if err := ch.ExchangeDeclarePassive(ex, "direct", false, true, false, false, nil); err != nil {
		t.Fatalf("auto-delete exchange without bindings was deleted: %v", err)
	}
	bindQueue(t, ch, q1, "k", ex, nil)
	bindQueue(t, ch, q2, "k", ex, nil)
	if err := ch.QueueUnbind(q1, "k", ex, nil); err != nil {
		t.Fatalf("unbind: %v", err)
	}
	if err := ch.ExchangeDeclarePassive(ex, "direct", false, true, false, false, nil); err != nil {
		t.Fatalf("deleted while a binding remained: %v", err)
	}
	if _, err := ch.QueueDelete(q2, false, false, false); err != nil {
		t.Fatalf("delete queue: %v", err)
	}
	err := ch.ExchangeDeclarePassive(ex, "direct", false, true, false, false, nil)
	e := expectChannelClose(t, ch, err, amqp.NotFound)
	expectText(t, e, "NOT_FOUND - no exchange '"+ex+"' in vhost '/'")
}

// TestExchangeToExchangeBinding: exchange.bind routes from source to destination
// (each queue gets one copy even when reachable twice); exchange.unbind stops it and
// an auto-delete source goes with its last binding.
func TestExchangeToExchangeBinding(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	src := uniqueName(t, "src")
	if err := ch.ExchangeDeclare(src, "topic", false, true, false, false, nil); err != nil {
		t.Fatalf("declare source: %v", err)
	}
	cleanupExchange(t, src)
	dst := newExchange(t, ch, "direct", nil)
	q := newQueue(t, ch, nil)
	bindQueue(t, ch, q, "a.b", dst, nil)
	bindQueue(t, ch, q, "a.*", src, nil)
	if err := ch.ExchangeBind(dst, "a.#", src, false, nil); err != nil {
		t.Fatalf("exchange.bind: %v", err)
	}
	publishConfirmed(t, ch, src, "a.b", text("both-paths"))
	publishConfirmed(t, ch, src, "a.c", text("src-only"))
	publishConfirmed(t, ch, dst, "a.b", text("dst"))
	if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"both-paths", "src-only", "dst"}) {
		t.Errorf("got %q, want [both-paths src-only dst]", got)
	}
	if err := ch.QueueUnbind(q, "a.*", src, nil); err != nil {
		t.Fatalf("unbind queue: %v", err)
	}
	if err := ch.ExchangeUnbind(dst, "a.#", src, false, nil); err != nil {
		t.Fatalf("exchange.unbind: %v", err)
	}
	err := ch.ExchangeDeclarePassive(src, "topic", false, true, false, false, nil)
	expectChannelClose(t, ch, err, amqp.NotFound)
}

// TestExchangeBindErrors: binding with a missing source or destination → 404;
// binding to or from the default exchange → 403.
func TestExchangeBindErrors(t *testing.T) {
	pending(t)
	setup := channel(t)
	ex := newExchange(t, setup, "fanout", nil)
	missing := uniqueName(t, "missing")
	cases := []struct {
		name       string
		dst, src   string
		code       int
		wantPrefix string
	}{
		{"missing-source", ex, missing, amqp.NotFound, "NOT_FOUND - no exchange '" + missing + "' in vhost '/'"},
		{"missing-destination", missing, ex, amqp.NotFound, "NOT_FOUND - no exchange '" + missing + "' in vhost '/'"},
		{"default-source", ex, "", amqp.AccessRefused, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"default-destination", "", ex, amqp.AccessRefused, "ACCESS_REFUSED - operation not permitted on the default exchange"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pending(t)
			ch := channel(t)
			e := expectChannelClose(t, ch, ch.ExchangeBind(c.dst, "k", c.src, false, nil), c.code)
			expectText(t, e, c.wantPrefix)
		})
	}
}

// TestAlternateExchange: an unroutable message goes to the alternate exchange; a
// mandatory publish routed by the AE is not returned; routable messages do not reach
// the AE; when the AE cannot route either, mandatory returns it (312).
func TestAlternateExchange(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	returns := ch.NotifyReturn(make(chan amqp.Return, 4))
	ae := newExchange(t, ch, "direct", nil)
	ex := newExchange(t, ch, "direct", amqp.Table{"alternate-exchange": ae})
	main, side := newQueue(t, ch, nil), newQueue(t, ch, nil)
	bindQueue(t, ch, main, "routed", ex, nil)
	bindQueue(t, ch, side, "lost", ae, nil)
	if !publishConfirm(t, ch, ex, "routed", true, text("m1")) ||
		!publishConfirm(t, ch, ex, "lost", true, text("m2")) ||
		!publishConfirm(t, ch, ex, "nowhere", true, text("m3")) {
		t.Fatal("nack")
	}
	if got := drainBodies(t, ch, main); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("main got %q, want [m1]", got)
	}
	if got := drainBodies(t, ch, side); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("alternate got %q, want [m2]", got)
	}
	select {
	case r := <-returns:
		if string(r.Body) != "m3" || r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.Exchange != ex || r.RoutingKey != "nowhere" {
			t.Errorf("return %d %q %s/%s body %q; want 312 NO_ROUTE %s/nowhere m3", r.ReplyCode, r.ReplyText, r.Exchange, r.RoutingKey, r.Body, ex)
		}
	default:
		t.Error("m3 (unroutable by the AE too) was not returned")
	}
	select {
	case r := <-returns:
		t.Errorf("unexpected extra return of %q", r.Body)
	default:
	}
}

// TestSenderSelectedDistribution: CC and BCC headers add routing keys; BCC is
// removed from the delivered message, CC kept; a queue matching several keys gets
// one copy.
func TestSenderSelectedDistribution(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	ex := newExchange(t, ch, "direct", nil)
	q1, q2, q3, q4 := newQueue(t, ch, nil), newQueue(t, ch, nil), newQueue(t, ch, nil), newQueue(t, ch, nil)
	bindQueue(t, ch, q1, "k1", ex, nil)
	bindQueue(t, ch, q2, "k2", ex, nil)
	bindQueue(t, ch, q3, "k3", ex, nil)
	bindQueue(t, ch, q4, "k1", ex, nil)
	bindQueue(t, ch, q4, "k2", ex, nil)
	publishConfirmed(t, ch, ex, "k1", amqp.Publishing{
		Headers: amqp.Table{"CC": []any{"k2"}, "BCC": []any{"k3"}, "other": "kept"},
		Body:    []byte("m"),
	})
	for _, q := range []string{q1, q2, q3, q4} {
		d := getOne(t, ch, q, true)
		want := amqp.Table{"CC": []any{"k2"}, "other": "kept"}
		if !reflect.DeepEqual(d.Headers, want) {
			t.Errorf("%s headers %#v, want %#v", q, d.Headers, want)
		}
		if d.RoutingKey != "k1" {
			t.Errorf("%s routing key %q, want k1", q, d.RoutingKey)
		}
		expectEmpty(t, ch, q)
	}
}

// TestUnknownExchangeType: declaring an exchange of an unknown type. RabbitMQ 3.10
// answers with a connection error, 503 COMMAND_INVALID "unknown exchange type"
// (current main, which the reference describes, uses the channel error 406).
func TestUnknownExchangeType(t *testing.T) {
	pending(t)
	conn := dial(t)
	ch := openChannel(t, conn)
	name := uniqueName(t, "x")
	e := expectConnClose(t, conn, ch.ExchangeDeclare(name, "no-such-type", false, false, false, false, nil), amqp.CommandInvalid)
	expectText(t, e, "COMMAND_INVALID - unknown exchange type 'no-such-type'")
}

// TestExchangeReservedNames: declaring amq.* → 403; deleting a system amq.*
// exchange → 403.
func TestExchangeReservedNames(t *testing.T) {
	pending(t)
	ch := channel(t)
	name := "amq.e2e-" + strings.ReplaceAll(uniqueName(t, "x"), "/", ".")
	e := expectChannelClose(t, ch, ch.ExchangeDeclare(name, "direct", false, false, false, false, nil), amqp.AccessRefused)
	expectText(t, e, "ACCESS_REFUSED - exchange name '"+name+"' contains reserved prefix 'amq.*'")

	ch = channel(t)
	e = expectChannelClose(t, ch, ch.ExchangeDelete("amq.direct", false, false), amqp.AccessRefused)
	expectText(t, e, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed")
}

// TestExchangeInequivalentRedeclare: redeclaring with another type or durability →
// 406; the same declaration again is fine.
func TestExchangeInequivalentRedeclare(t *testing.T) {
	pending(t)
	ch := channel(t)
	ex := newExchange(t, ch, "direct", nil)
	if err := ch.ExchangeDeclare(ex, "direct", false, false, false, false, nil); err != nil {
		t.Fatalf("equivalent redeclare: %v", err)
	}
	e := expectChannelClose(t, ch, ch.ExchangeDeclare(ex, "fanout", false, false, false, false, nil), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '"+ex+"' in vhost '/': received 'fanout' but current is 'direct'")

	ch = channel(t)
	e = expectChannelClose(t, ch, ch.ExchangeDeclare(ex, "direct", true, false, false, false, nil), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '"+ex+"' in vhost '/': received 'true' but current is 'false'")
}

// TestExchangeDelete: delete if-unused with a binding → 406; without → ok; deleting a
// missing exchange is not an error.
func TestExchangeDelete(t *testing.T) {
	pending(t)
	ch := channel(t)
	ex := newExchange(t, ch, "direct", nil)
	q := newQueue(t, ch, nil)
	bindQueue(t, ch, q, "k", ex, nil)
	e := expectChannelClose(t, ch, ch.ExchangeDelete(ex, true, false), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - exchange '"+ex+"' in vhost '/' in use")

	ch = channel(t)
	if err := ch.QueueUnbind(q, "k", ex, nil); err != nil {
		t.Fatalf("unbind: %v", err)
	}
	if err := ch.ExchangeDelete(ex, true, false); err != nil {
		t.Fatalf("delete unused: %v", err)
	}
	if err := ch.ExchangeDelete(ex, false, false); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
}

// TestDefaultExchangeOperations: the default exchange can only be published to:
// declare, delete, queue.bind and queue.unbind on it → 403. RabbitMQ 3.10 refuses a
// passive declare of "" too (403), so "it exists" shows only by routing (see
// TestPredeclaredExchangeRouting); its name for permission checks, amq.default, is
// not a declarable exchange (404).
func TestDefaultExchangeOperations(t *testing.T) {
	pending(t)
	setup := channel(t)
	q := newQueue(t, setup, nil)
	want := "ACCESS_REFUSED - operation not permitted on the default exchange"
	ops := map[string]func(*amqp.Channel) error{
		"declare": func(ch *amqp.Channel) error { return ch.ExchangeDeclare("", "direct", true, false, false, false, nil) },
		"passive": func(ch *amqp.Channel) error {
			return ch.ExchangeDeclarePassive("", "direct", true, false, false, false, nil)
		},
		"delete": func(ch *amqp.Channel) error { return ch.ExchangeDelete("", false, false) },
		"bind":   func(ch *amqp.Channel) error { return ch.QueueBind(q, "k", "", false, nil) },
		"unbind": func(ch *amqp.Channel) error { return ch.QueueUnbind(q, q, "", nil) },
	}
	for _, name := range []string{"declare", "passive", "delete", "bind", "unbind"} {
		t.Run(name, func(t *testing.T) {
			pending(t)
			ch := channel(t)
			e := expectChannelClose(t, ch, ops[name](ch), amqp.AccessRefused)
			expectText(t, e, want)
		})
	}
	ch := channel(t)
	err := ch.ExchangeDeclarePassive("amq.default", "direct", true, false, false, false, nil)
	expectChannelClose(t, ch, err, amqp.NotFound)
}

// TestPublishToMissingExchange: basic.publish to a missing exchange closes the
// channel with 404.
func TestPublishToMissingExchange(t *testing.T) {
	pending(t)
	conn := dial(t)
	ch := openChannel(t, conn)
	missing := uniqueName(t, "missing")
	closed := watchClose(ch)
	publish(t, ch, missing, "k", text("x"))
	e := asAMQPError(t, awaitClose(t, closed), amqp.NotFound)
	expectText(t, e, "NOT_FOUND - no exchange '"+missing+"' in vhost '/'")
	if conn.IsClosed() {
		t.Fatal("connection closed; want only the channel")
	}
}
