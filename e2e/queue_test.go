package e2e

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestQueueDurability: durable and transient queues declare; redeclaring with the
// other durability → 406.
func TestQueueDurability(t *testing.T) {
	pending(t)
	ch := channel(t)
	durable := uniqueName(t, "durable")
	if _, err := ch.QueueDeclare(durable, true, false, false, false, nil); err != nil {
		t.Fatalf("declare durable: %v", err)
	}
	cleanupQueue(t, durable)
	transient := newQueue(t, ch, nil)
	if _, err := ch.QueueDeclare(durable, true, false, false, false, nil); err != nil {
		t.Fatalf("equivalent redeclare: %v", err)
	}
	ch = channel(t)
	e := expectChannelClose(t, ch, declareErr(ch, transient, true, nil), amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '"+transient+"' in vhost '/': received 'true' but current is 'false'")
}

// declareErr declares a plain queue and returns only the error.
func declareErr(ch *amqp.Channel, name string, durable bool, args amqp.Table) error {
	_, err := ch.QueueDeclare(name, durable, false, false, false, args)
	return err
}

// TestExclusiveQueue: another connection cannot declare, passively declare,
// consume from, purge or delete an exclusive queue (405); the owner can; the queue
// is deleted when its connection closes.
func TestExclusiveQueue(t *testing.T) {
	pending(t)
	ownerConn := dial(t)
	owner := openChannel(t, ownerConn)
	name := uniqueName(t, "excl")
	if _, err := owner.QueueDeclare(name, false, false, true, false, nil); err != nil {
		t.Fatalf("declare exclusive: %v", err)
	}
	locked := "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '" + name + "' in vhost '/'"
	ops := map[string]func(*amqp.Channel) error{
		"declare": func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(name, false, false, true, false, nil)
			return err
		},
		"passive": func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive(name, false, false, true, false, nil)
			return err
		},
		"consume": func(ch *amqp.Channel) error {
			_, err := ch.Consume(name, "", false, false, false, false, nil)
			return err
		},
		"get":    func(ch *amqp.Channel) error { _, _, err := ch.Get(name, false); return err },
		"purge":  func(ch *amqp.Channel) error { _, err := ch.QueuePurge(name, false); return err },
		"delete": func(ch *amqp.Channel) error { _, err := ch.QueueDelete(name, false, false, false); return err },
		"bind":   func(ch *amqp.Channel) error { return ch.QueueBind(name, "k", "amq.direct", false, nil) },
	}
	for _, op := range []string{"declare", "passive", "consume", "get", "purge", "delete", "bind"} {
		t.Run(op, func(t *testing.T) {
			pending(t)
			ch := channel(t)
			e := expectChannelClose(t, ch, ops[op](ch), amqp.ResourceLocked)
			expectTextPrefix(t, e, locked)
		})
	}
	if _, err := owner.QueueDeclarePassive(name, false, false, true, false, nil); err != nil {
		t.Fatalf("owner passive declare: %v", err)
	}
	ownerConn.Close()
	check := channel(t)
	waitFor(t, func() bool {
		_, err := check.QueueDeclarePassive(name, false, false, false, false, nil)
		if err != nil {
			asAMQPError(t, err, amqp.NotFound)
			return true
		}
		return false
	}, rpcTimeout, "exclusive queue to go with its connection")
}

// TestAutoDeleteQueue: an auto-delete queue is deleted when its last consumer
// cancels, not while one remains, and never if it never had a consumer (basic.get
// does not count).
func TestAutoDeleteQueue(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	used, unused := uniqueName(t, "ad-used"), uniqueName(t, "ad-unused")
	for _, q := range []string{used, unused} {
		if _, err := ch.QueueDeclare(q, false, true, false, false, nil); err != nil {
			t.Fatalf("declare auto-delete: %v", err)
		}
		cleanupQueue(t, q)
	}
	publishBodies(t, ch, unused, "m")
	getOne(t, ch, unused, true)
	consume(t, ch, used, "c1", true, nil)
	consume(t, ch, used, "c2", true, nil)
	if err := ch.Cancel("c1", false); err != nil {
		t.Fatalf("cancel c1: %v", err)
	}
	if _, err := ch.QueueDeclarePassive(used, false, true, false, false, nil); err != nil {
		t.Fatalf("deleted while a consumer remained: %v", err)
	}
	if err := ch.Cancel("c2", false); err != nil {
		t.Fatalf("cancel c2: %v", err)
	}
	if _, err := ch.QueueDeclarePassive(unused, false, true, false, false, nil); err != nil {
		t.Fatalf("auto-delete queue that never had a consumer was deleted: %v", err)
	}
	_, err := ch.QueueDeclarePassive(used, false, true, false, false, nil)
	e := expectChannelClose(t, ch, err, amqp.NotFound)
	expectText(t, e, "NOT_FOUND - no queue '"+used+"' in vhost '/'")
}

// TestServerNamedQueue: an empty name gets an amq.gen-* name; later on the same
// channel an empty queue name means the last server-named queue; on a channel that
// declared none it → 404.
func TestServerNamedQueue(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	if !strings.HasPrefix(q.Name, "amq.gen-") {
		t.Errorf("server-named queue %q, want prefix amq.gen-", q.Name)
	}
	bindQueue(t, ch, "", "k", "amq.direct", nil)
	publishConfirmed(t, ch, "amq.direct", "k", text("m"))
	d := getOne(t, ch, "", true)
	if string(d.Body) != "m" || d.RoutingKey != "k" {
		t.Errorf("got %q with key %q, want m with key k", d.Body, d.RoutingKey)
	}
	if n, err := ch.QueuePurge("", false); err != nil || n != 0 {
		t.Errorf("purge last queue: %d, %v", n, err)
	}

	other := channel(t)
	_, _, err = other.Get("", true)
	e := expectChannelClose(t, other, err, amqp.NotFound)
	expectText(t, e, "NOT_FOUND - no previously declared queue")
}

// TestQueueReservedName: declaring a queue named amq.* → 403.
func TestQueueReservedName(t *testing.T) {
	pending(t)
	ch := channel(t)
	name := "amq.e2e-" + uniqueName(t, "q")
	e := expectChannelClose(t, ch, declareErr(ch, name, false, nil), amqp.AccessRefused)
	expectText(t, e, "ACCESS_REFUSED - queue name '"+name+"' contains reserved prefix 'amq.*'")
}

// TestPassiveDeclareMissing: passive declare of a missing queue → 404.
func TestPassiveDeclareMissing(t *testing.T) {
	pending(t)
	ch := channel(t)
	name := uniqueName(t, "missing")
	_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	e := expectChannelClose(t, ch, err, amqp.NotFound)
	expectText(t, e, "NOT_FOUND - no queue '"+name+"' in vhost '/'")
}

// TestQueueInequivalentArgs: redeclaring with different x-args → 406; a passive
// declare ignores arguments.
func TestQueueInequivalentArgs(t *testing.T) {
	pending(t)
	ch := channel(t)
	q := newQueue(t, ch, amqp.Table{"x-message-ttl": int32(1000)})
	if _, err := ch.QueueDeclarePassive(q, false, false, false, false, amqp.Table{"x-message-ttl": int32(5)}); err != nil {
		t.Fatalf("passive declare with other args: %v", err)
	}
	e := expectChannelClose(t, ch, declareErr(ch, q, false, amqp.Table{"x-message-ttl": int32(2000)}), amqp.PreconditionFailed)
	expectTextPrefix(t, e, "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '"+q+"' in vhost '/': received '2000' but current is '1000'")

	ch = channel(t)
	e = expectChannelClose(t, ch, declareErr(ch, q, false, nil), amqp.PreconditionFailed)
	expectTextPrefix(t, e, "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '"+q+"' in vhost '/': received none but current is the value '1000' of type 'signedint'")
}

// TestQueueDeleteConditions: delete if-unused with a consumer → 406 "in use";
// if-empty with messages → 406 "not empty"; a plain delete returns the message
// count; deleting a missing queue is not an error and returns 0.
func TestQueueDeleteConditions(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2", "3")
	consumer := channel(t)
	consume(t, consumer, q, "c", false, amqp.Table{})
	waitFor(t, func() bool {
		qi, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		return err == nil && qi.Consumers == 1
	}, rpcTimeout, "consumer to register")

	del := channel(t)
	_, err := del.QueueDelete(q, true, false, false)
	e := expectChannelClose(t, del, err, amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - queue '"+q+"' in vhost '/' in use")

	consumer.Close() // unacked deliveries go back: 3 ready again
	waitCount(t, ch, q, 3)
	del = channel(t)
	_, err = del.QueueDelete(q, false, true, false)
	e = expectChannelClose(t, del, err, amqp.PreconditionFailed)
	expectText(t, e, "PRECONDITION_FAILED - queue '"+q+"' in vhost '/' not empty")

	n, err := ch.QueueDelete(q, true, false, false)
	if err != nil || n != 3 {
		t.Fatalf("delete: count %d err %v, want 3", n, err)
	}
	n, err = ch.QueueDelete(q, false, false, false)
	if err != nil || n != 0 {
		t.Fatalf("delete missing: count %d err %v, want 0 nil", n, err)
	}
}

// TestQueuePurge: purge returns the number of ready messages removed; unacked
// messages are not purged and come back when their channel closes.
func TestQueuePurge(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2", "3", "4")
	holder := channel(t)
	getOne(t, holder, q, false)
	n, err := ch.QueuePurge(q, false)
	if err != nil || n != 3 {
		t.Fatalf("purge: %d %v, want 3", n, err)
	}
	holder.Close()
	waitCount(t, ch, q, 1)
	if d := getOne(t, ch, q, true); string(d.Body) != "1" || !d.Redelivered {
		t.Errorf("after purge got %q redelivered=%v, want 1 redelivered", d.Body, d.Redelivered)
	}
}

// TestDeclareOkCounts: declare-ok reports ready messages (unacked ones excluded)
// and the number of consumers.
func TestDeclareOkCounts(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishBodies(t, ch, q, "1", "2", "3")
	getOne(t, channel(t), q, false) // one unacked
	got, err := ch.QueueDeclare(q, false, false, false, false, nil)
	if err != nil || got.Name != q || got.Messages != 2 || got.Consumers != 0 {
		t.Fatalf("declare-ok %+v (%v), want %s with 2 messages 0 consumers", got, err, q)
	}
	c := channel(t)
	if err := c.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	consume(t, c, q, "a", false, nil)
	consume(t, c, q, "b", false, nil)
	waitFor(t, func() bool {
		got, err = ch.QueueDeclare(q, false, false, false, false, nil)
		if err != nil {
			t.Fatalf("redeclare: %v", err)
		}
		return got.Messages == 0 && got.Consumers == 2
	}, rpcTimeout, "declare-ok to report 0 ready and 2 consumers")
}

// TestQueueExpires: a queue with x-expires and no use is deleted after the expiry;
// one with a consumer is not. Presence is probed with mandatory publishes, because a
// passive declare counts as use and restarts the expiry timer (checked here too).
func TestQueueExpires(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	idle := newQueue(t, ch, amqp.Table{"x-expires": int32(300)})
	busy := newQueue(t, ch, amqp.Table{"x-expires": int32(300)})
	touched := newQueue(t, ch, amqp.Table{"x-expires": int32(300)})
	consume(t, channel(t), busy, "", true, nil)
	start := time.Now()
	toucher := channel(t)
	waitFor(t, func() bool {
		if _, err := toucher.QueueDeclarePassive(touched, false, false, false, false, nil); err != nil {
			t.Fatalf("queue kept in use by passive declares expired: %v", err)
		}
		return !queueRoutable(t, ch, idle)
	}, 5*time.Second, "idle queue to expire")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("expired after %v, before its 300 ms x-expires", d)
	}
	if !queueRoutable(t, ch, busy) {
		t.Error("queue with a consumer expired")
	}
	if !queueRoutable(t, ch, touched) {
		t.Error("queue kept in use by passive declares expired")
	}
}

// queueRoutable reports whether a mandatory publish to queue through the default
// exchange is routed (the queue exists) or returned; ch must be in confirm mode. The
// probe message (body "probe") stays in the queue if it exists.
func queueRoutable(t testing.TB, ch *amqp.Channel, queue string) bool {
	t.Helper()
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	if !publishConfirm(t, ch, "", queue, true, text("probe")) {
		t.Fatalf("probe publish to %s nacked", queue)
	}
	select {
	case <-returns:
		return false
	default:
		return true
	}
}

// TestInvalidQueueArgs: invalid x-arguments → 406 "invalid arg 'x-…' for queue
// '…' in vhost '/': <reason>". Only the text up to the reason is asserted: the
// reason is RabbitMQ's rendering of an Erlang term; what 3.10 sends is kept in
// rabbitReason for reference.
func TestInvalidQueueArgs(t *testing.T) {
	pending(t)
	cases := []struct {
		name, arg    string
		args         amqp.Table
		rabbitReason string
	}{
		{"max-length-negative", "x-max-length", amqp.Table{"x-max-length": int32(-1)}, "{value_negative,-1}"},
		{"max-length-bytes-negative", "x-max-length-bytes", amqp.Table{"x-max-length-bytes": int32(-1)}, "{value_negative,-1}"},
		{"message-ttl-string", "x-message-ttl", amqp.Table{"x-message-ttl": "1000"}, `"expected integer, got longstr"`},
		{"message-ttl-negative", "x-message-ttl", amqp.Table{"x-message-ttl": int32(-5)}, "{value_negative,-5}"},
		{"expires-zero", "x-expires", amqp.Table{"x-expires": int32(0)}, "{value_zero,0}"},
		{"max-priority-too-big", "x-max-priority", amqp.Table{"x-max-priority": int32(256)}, "{max_value_exceeded,256}"},
		{"overflow-unknown", "x-overflow", amqp.Table{"x-overflow": "drop-tail"}, "invalid_overflow"},
		{"dlx-routing-key-without-dlx", "x-dead-letter-routing-key", amqp.Table{"x-dead-letter-routing-key": "k"}, "routing_key_but_no_dlx_defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pending(t)
			ch := channel(t)
			name := uniqueName(t, "q")
			cleanupQueue(t, name)
			e := expectChannelClose(t, ch, declareErr(ch, name, false, c.args), amqp.PreconditionFailed)
			expectTextPrefix(t, e, "PRECONDITION_FAILED - invalid arg '"+c.arg+"' for queue '"+name+"' in vhost '/': ")
			if usingExternalBroker() && !strings.HasSuffix(e.Reason, ": "+c.rabbitReason) {
				t.Logf("note: reason %q differs from RabbitMQ 3.10's %q", e.Reason, c.rabbitReason)
			}
		})
	}
}

// TestMaxPriorityDeclare: x-max-priority 1..255 is accepted and redeclare with the
// same value is equivalent.
func TestMaxPriorityDeclare(t *testing.T) {
	pending(t)
	ch := channel(t)
	for _, p := range []int32{1, 10, 255} {
		q := newQueue(t, ch, amqp.Table{"x-max-priority": p})
		if err := declareErr(ch, q, false, amqp.Table{"x-max-priority": p}); err != nil {
			t.Fatalf("redeclare x-max-priority %d: %v", p, err)
		}
	}
}
