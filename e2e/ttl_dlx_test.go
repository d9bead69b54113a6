package e2e

import (
	"reflect"
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestQueueMessageTTL: with x-message-ttl messages disappear once older than the
// TTL, without a consumer looking.
func TestQueueMessageTTL(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-message-ttl": int32(200)})
	start := time.Now()
	publishBodies(t, ch, q, "1", "2", "3")
	waitCount(t, ch, q, 0)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("messages expired after %v, before the 200 ms TTL", d)
	}
	expectEmpty(t, ch, q)
}

// TestPerMessageTTL: the expiration property expires that message only.
func TestPerMessageTTL(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, nil)
	publishConfirmed(t, ch, "", q, amqp.Publishing{Expiration: "100", Body: []byte("short")})
	publishConfirmed(t, ch, "", q, amqp.Publishing{Body: []byte("forever")})
	waitCount(t, ch, q, 1)
	if got := drainBodies(t, ch, q); !slices.Equal(got, []string{"forever"}) {
		t.Errorf("queue holds %q, want [forever]", got)
	}
}

// TestTTLMinimum: the smaller of queue TTL and message expiration applies.
func TestTTLMinimum(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	longQueue := newQueue(t, ch, amqp.Table{"x-message-ttl": int32(60000)})
	shortQueue := newQueue(t, ch, amqp.Table{"x-message-ttl": int32(100)})
	publishConfirmed(t, ch, "", longQueue, amqp.Publishing{Expiration: "100", Body: []byte("m")})
	publishConfirmed(t, ch, "", shortQueue, amqp.Publishing{Expiration: "60000", Body: []byte("m")})
	waitCount(t, ch, longQueue, 0)
	waitCount(t, ch, shortQueue, 0)
}

// TestZeroTTLOnlyImmediate: x-message-ttl 0 delivers to a waiting consumer but drops
// a message nobody can take at once.
func TestZeroTTLOnlyImmediate(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-message-ttl": int32(0)})
	publishBodies(t, ch, q, "dropped")
	expectEmpty(t, ch, q)
	ds := consume(t, channel(t), q, "", true, nil)
	publishBodies(t, ch, q, "delivered")
	if d := recv(t, ds); string(d.Body) != "delivered" {
		t.Errorf("got %q, want delivered", d.Body)
	}
}

// TestInvalidExpiration: an expiration that is not a non-negative integer string →
// 406 "invalid expiration".
func TestInvalidExpiration(t *testing.T) {
	pending(t)
	for _, c := range []struct{ expiration, text string }{
		{"abc", "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"},
		{"-1", "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"},
	} {
		t.Run(c.expiration, func(t *testing.T) {
			pending(t)
			ch := channel(t)
			closed := watchClose(ch)
			publish(t, ch, "", "e2e-anything", amqp.Publishing{Expiration: c.expiration, Body: []byte("x")})
			e := asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed)
			expectTextPrefix(t, e, "PRECONDITION_FAILED - invalid expiration '"+c.expiration+"'")
			if usingExternalBroker() && e.Reason != c.text {
				t.Logf("note: %q differs from RabbitMQ 3.10's %q", e.Reason, c.text)
			}
		})
	}
}

// dlxSetup declares a fanout dead-letter exchange with a bound queue, and a source
// queue with extra args that dead-letters to it. Returns source, dlx, dead-letter
// queue.
func dlxSetup(t *testing.T, ch *amqp.Channel, args amqp.Table) (string, string, string) {
	t.Helper()
	dlx := newExchange(t, ch, "fanout", nil)
	dlq := newQueue(t, ch, nil)
	bindQueue(t, ch, dlq, "", dlx, nil)
	all := amqp.Table{"x-dead-letter-exchange": dlx}
	for k, v := range args {
		all[k] = v
	}
	return newQueue(t, ch, all), dlx, dlq
}

// xDeath returns the x-death entries of a delivery after checking their types.
func xDeath(t *testing.T, d amqp.Delivery) []amqp.Table {
	t.Helper()
	raw, ok := d.Headers["x-death"].([]any)
	if !ok {
		t.Fatalf("x-death missing or not an array: headers %#v", d.Headers)
	}
	out := make([]amqp.Table, len(raw))
	for i, e := range raw {
		tbl, ok := e.(amqp.Table)
		if !ok {
			t.Fatalf("x-death[%d] is %T, want a table", i, e)
		}
		if _, ok := tbl["time"].(time.Time); !ok {
			t.Errorf("x-death[%d].time = %#v, want a timestamp", i, tbl["time"])
		}
		if _, ok := tbl["count"].(int64); !ok {
			t.Errorf("x-death[%d].count = %#v (%T), want a long (int64)", i, tbl["count"], tbl["count"])
		}
		out[i] = tbl
	}
	return out
}

// expectDeath compares one x-death entry, ignoring its time.
func expectDeath(t *testing.T, got amqp.Table, want amqp.Table) {
	t.Helper()
	g := amqp.Table{}
	for k, v := range got {
		if k != "time" {
			g[k] = v
		}
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("x-death entry:\n got %#v\nwant %#v", g, want)
	}
}

// expectDeathHeaders checks x-first-death-* and, where present, x-last-death-*.
// RabbitMQ 3.10 sends no x-last-death-* headers (they arrived in 3.13 and the
// reference describes them), so they are optional here but must be right if sent.
func expectDeathHeaders(t *testing.T, d amqp.Delivery, firstQ, firstReason, firstEx, lastQ, lastReason, lastEx string) {
	t.Helper()
	want := map[string]string{
		"x-first-death-queue": firstQ, "x-first-death-reason": firstReason, "x-first-death-exchange": firstEx,
	}
	last := map[string]string{
		"x-last-death-queue": lastQ, "x-last-death-reason": lastReason, "x-last-death-exchange": lastEx,
	}
	for k, v := range last {
		if _, ok := d.Headers[k]; ok {
			want[k] = v
		}
	}
	for k, v := range want {
		if got, ok := d.Headers[k].(string); !ok || got != v {
			t.Errorf("header %s = %#v, want %q", k, d.Headers[k], v)
		}
	}
}

// TestDeadLetterRejected: basic.reject and basic.nack with requeue=false dead-letter
// the message with reason "rejected" and a complete x-death entry.
func TestDeadLetterRejected(t *testing.T) {
	pending(t)
	for _, how := range []string{"reject", "nack"} {
		t.Run(how, func(t *testing.T) {
			pending(t)
			ch := confirmChannel(t)
			src, dlx, dlq := dlxSetup(t, ch, nil)
			publishConfirmed(t, ch, "", src, amqp.Publishing{Headers: amqp.Table{"app": "kept"}, Body: []byte("m")})
			d := getOne(t, ch, src, false)
			var err error
			if how == "reject" {
				err = d.Reject(false)
			} else {
				err = d.Nack(false, false)
			}
			if err != nil {
				t.Fatal(err)
			}
			waitCount(t, ch, dlq, 1)
			dead := getOne(t, ch, dlq, true)
			if string(dead.Body) != "m" || dead.Exchange != dlx || dead.RoutingKey != src || dead.Redelivered {
				t.Errorf("dead-lettered %q via %q/%q redelivered=%v; want m via %s/%s", dead.Body, dead.Exchange, dead.RoutingKey, dead.Redelivered, dlx, src)
			}
			if dead.Headers["app"] != "kept" {
				t.Errorf("application header lost: %#v", dead.Headers)
			}
			deaths := xDeath(t, dead)
			if len(deaths) != 1 {
				t.Fatalf("x-death has %d entries, want 1: %#v", len(deaths), deaths)
			}
			expectDeath(t, deaths[0], amqp.Table{
				"count": int64(1), "reason": "rejected", "queue": src, "exchange": "", "routing-keys": []any{src},
			})
			expectDeathHeaders(t, dead, src, "rejected", "", src, "rejected", "")
		})
	}
}

// TestDeadLetterExpired: a message expired by its expiration property is
// dead-lettered with reason "expired", original-expiration in x-death, and the
// expiration property removed.
func TestDeadLetterExpired(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	src, _, dlq := dlxSetup(t, ch, nil)
	publishConfirmed(t, ch, "", src, amqp.Publishing{Expiration: "50", Body: []byte("m")})
	waitCount(t, ch, dlq, 1)
	dead := getOne(t, ch, dlq, true)
	if dead.Expiration != "" {
		t.Errorf("expiration property %q kept on the dead-lettered message", dead.Expiration)
	}
	deaths := xDeath(t, dead)
	if len(deaths) != 1 {
		t.Fatalf("x-death has %d entries, want 1", len(deaths))
	}
	expectDeath(t, deaths[0], amqp.Table{
		"count": int64(1), "reason": "expired", "queue": src, "exchange": "", "routing-keys": []any{src},
		"original-expiration": "50",
	})
	expectDeathHeaders(t, dead, src, "expired", "", src, "expired", "")
}

// TestDeadLetterQueueTTL: expiry by x-message-ttl dead-letters with reason
// "expired" and no original-expiration.
func TestDeadLetterQueueTTL(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	src, _, dlq := dlxSetup(t, ch, amqp.Table{"x-message-ttl": int32(50)})
	publishBodies(t, ch, src, "1", "2")
	waitCount(t, ch, dlq, 2)
	for _, want := range []string{"1", "2"} {
		dead := getOne(t, ch, dlq, true)
		if string(dead.Body) != want {
			t.Errorf("got %q, want %s", dead.Body, want)
		}
		expectDeath(t, xDeath(t, dead)[0], amqp.Table{
			"count": int64(1), "reason": "expired", "queue": src, "exchange": "", "routing-keys": []any{src},
		})
	}
}

// TestDeadLetterMaxLen: drop-head overflow dead-letters the oldest message with
// reason "maxlen".
func TestDeadLetterMaxLen(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	src, _, dlq := dlxSetup(t, ch, amqp.Table{"x-max-length": int32(1)})
	publishBodies(t, ch, src, "old", "new")
	waitCount(t, ch, dlq, 1)
	dead := getOne(t, ch, dlq, true)
	if string(dead.Body) != "old" {
		t.Errorf("dead-lettered %q, want old", dead.Body)
	}
	expectDeath(t, xDeath(t, dead)[0], amqp.Table{
		"count": int64(1), "reason": "maxlen", "queue": src, "exchange": "", "routing-keys": []any{src},
	})
	if got := drainBodies(t, ch, src); !slices.Equal(got, []string{"new"}) {
		t.Errorf("source holds %q, want [new]", got)
	}
}

// TestDeadLetterCycleCount: a message rejected in q1, then q2, then q1 again has two
// x-death entries; q1's count is 2 and it is first (most recent); x-first-death-*
// stays q1's first death and x-last-death-* follows the latest.
func TestDeadLetterCycleCount(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q1, q2 := uniqueName(t, "q1"), uniqueName(t, "q2")
	declareQueue(t, ch, q1, amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2})
	declareQueue(t, ch, q2, amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q1})
	publishBodies(t, ch, q1, "m")
	for _, q := range []string{q1, q2, q1} {
		if err := getOne(t, ch, q, false).Reject(false); err != nil {
			t.Fatal(err)
		}
		next := q2
		if q == q2 {
			next = q1
		}
		waitCount(t, ch, next, 1)
	}
	dead := getOne(t, ch, q2, true)
	deaths := xDeath(t, dead)
	if len(deaths) != 2 {
		t.Fatalf("x-death has %d entries, want 2: %#v", len(deaths), deaths)
	}
	expectDeath(t, deaths[0], amqp.Table{
		"count": int64(2), "reason": "rejected", "queue": q1, "exchange": "", "routing-keys": []any{q1},
	})
	expectDeath(t, deaths[1], amqp.Table{
		"count": int64(1), "reason": "rejected", "queue": q2, "exchange": "", "routing-keys": []any{q2},
	})
	expectDeathHeaders(t, dead, q1, "rejected", "", q1, "rejected", "")
	if dead.RoutingKey != q2 {
		t.Errorf("routing key %q, want %s", dead.RoutingKey, q2)
	}
}

// TestDeadLetterRoutingKey: x-dead-letter-routing-key replaces the routing key and
// drops CC; x-death keeps the original keys including CC. Without it the original
// keys (and CC) route the dead letter.
func TestDeadLetterRoutingKey(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	in := newExchange(t, ch, "direct", nil)
	dlx := newExchange(t, ch, "direct", nil)
	withKey := newQueue(t, ch, amqp.Table{"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dead"})
	plain := newQueue(t, ch, amqp.Table{"x-dead-letter-exchange": dlx})
	bindQueue(t, ch, withKey, "k1", in, nil)
	bindQueue(t, ch, plain, "k1", in, nil)
	deadQ, ccQ := newQueue(t, ch, nil), newQueue(t, ch, nil)
	bindQueue(t, ch, deadQ, "dead", dlx, nil)
	bindQueue(t, ch, ccQ, "k2", dlx, nil)
	publishConfirmed(t, ch, in, "k1", amqp.Publishing{Headers: amqp.Table{"CC": []any{"k2"}}, Body: []byte("m")})

	if err := getOne(t, ch, withKey, false).Reject(false); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ch, deadQ, 1)
	d := getOne(t, ch, deadQ, true)
	if d.RoutingKey != "dead" {
		t.Errorf("routing key %q, want dead", d.RoutingKey)
	}
	if _, ok := d.Headers["CC"]; ok {
		t.Errorf("CC kept although a dead-letter routing key is set: %#v", d.Headers)
	}
	expectDeath(t, xDeath(t, d)[0], amqp.Table{
		"count": int64(1), "reason": "rejected", "queue": withKey, "exchange": in, "routing-keys": []any{"k1", "k2"},
	})

	if err := getOne(t, ch, plain, false).Reject(false); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ch, ccQ, 1)
	d = getOne(t, ch, ccQ, true)
	if d.RoutingKey != "k1" || !reflect.DeepEqual(d.Headers["CC"], []any{"k2"}) {
		t.Errorf("without a dead-letter key: routing key %q CC %#v; want k1 and [k2]", d.RoutingKey, d.Headers["CC"])
	}
	expectEmpty(t, ch, deadQ)
}

// TestDeadLetterMissingExchange: dead-lettering to an exchange that does not exist
// drops the message silently.
func TestDeadLetterMissingExchange(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q := newQueue(t, ch, amqp.Table{"x-dead-letter-exchange": uniqueName(t, "missing")})
	publishBodies(t, ch, q, "m")
	if err := getOne(t, ch, q, false).Reject(false); err != nil {
		t.Fatal(err)
	}
	expectEmpty(t, ch, q)
	if ch.IsClosed() {
		t.Fatal("channel closed")
	}
}

// TestDeadLetterExpiryCycleDropped: two queues that dead-letter expired
// messages into each other form a cycle with no rejection in it; RabbitMQ
// drops the message when it would re-enter a queue it expired from
// (rabbit_dead_letter:detect_cycles), instead of circulating it forever.
func TestDeadLetterExpiryCycleDropped(t *testing.T) {
	pending(t)
	ch := confirmChannel(t)
	q1, q2 := uniqueName(t, "q1"), uniqueName(t, "q2")
	declareQueue(t, ch, q1, amqp.Table{"x-message-ttl": int32(50), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2})
	declareQueue(t, ch, q2, amqp.Table{"x-message-ttl": int32(50), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q1})
	publishBodies(t, ch, q1, "m")
	// q1 → (expired) q2 → (expired) q1 would close the ring: dropped there.
	deadline := time.Now().Add(3 * time.Second)
	quietSince := time.Time{}
	for time.Now().Before(deadline) {
		a, err1 := ch.QueueDeclarePassive(q1, false, false, false, false, nil)
		b, err2 := ch.QueueDeclarePassive(q2, false, false, false, false, nil)
		if err1 != nil || err2 != nil {
			t.Fatalf("passive declare: %v %v", err1, err2)
		}
		if a.Messages+b.Messages == 0 {
			if quietSince.IsZero() {
				quietSince = time.Now()
			}
			if time.Since(quietSince) > 600*time.Millisecond {
				return // empty for several TTL periods: the message is gone, not circulating
			}
		} else {
			quietSince = time.Time{}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the message kept circulating between the two queues")
}
