package e2e

// Crash and shutdown tests need a warren process they own, so they skip when
// AMQP_URL is set.

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	crashCycles   = 5
	crashMinDelay = 200 * time.Millisecond
	crashMaxDelay = 800 * time.Millisecond
	// crashMaxSeq bounds how many messages the publisher sends in total.
	crashMaxSeq = 1_000_000
	// crashProgressTimeout bounds how long after a restart the publisher may take to
	// get its next confirm.
	crashProgressTimeout = 15 * time.Second
)

// TestCrashRecovery: a publisher (persistent messages, confirms, durable queue) and
// a consumer (manual acks) run while warren is SIGKILLed at random moments and
// restarted. Afterwards every confirmed message has been delivered, and a message
// delivered more than once carried redelivered=true on every delivery after the
// first.
func TestCrashRecovery(t *testing.T) {
	pending(t)
	w := startWarren(t, t.TempDir())
	const queue = "e2e.crash.durable"
	setup := openChannel(t, dialURL(t, w.URL()))
	if _, err := setup.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatalf("declare: %v", err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	log := &crashLog{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); crashPublish(w.URL(), queue, log, stop) }()
	go func() { defer wg.Done(); crashConsume(w.URL(), queue, log, stop) }()

	for cycle := range crashCycles {
		before := log.confirmedCount()
		delay := crashMinDelay + time.Duration(rng.Int64N(int64(crashMaxDelay-crashMinDelay)))
		time.Sleep(delay) // the random crash moment is the point of this test
		w.Kill()
		if err := w.Restart(); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("cycle %d: restart: %v", cycle, err)
		}
		waitFor(t, func() bool { return log.confirmedCount() > before }, crashProgressTimeout,
			"publisher to make progress after restart %d", cycle)
	}
	close(stop)
	wg.Wait()
	drainCrashQueue(t, w.URL(), queue, log)
	log.verify(t)
}

// crashLog records what the publisher had confirmed and what the consumer saw.
type crashLog struct {
	mu         sync.Mutex // guards the fields below
	lastSeq    int        // highest sequence number published (confirmed or not)
	confirmed  []int
	deliveries []crashDelivery
}

type crashDelivery struct {
	seq         int
	redelivered bool
}

func (l *crashLog) published(seq int) {
	l.mu.Lock()
	l.lastSeq = seq
	l.mu.Unlock()
}

func (l *crashLog) confirm(seq int) {
	l.mu.Lock()
	l.confirmed = append(l.confirmed, seq)
	l.mu.Unlock()
}

func (l *crashLog) confirmedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.confirmed)
}

func (l *crashLog) delivered(d amqp.Delivery) {
	seq, err := strconv.Atoi(string(d.Body))
	if err != nil {
		seq = -1
	}
	l.mu.Lock()
	l.deliveries = append(l.deliveries, crashDelivery{seq: seq, redelivered: d.Redelivered})
	l.mu.Unlock()
}

func (l *crashLog) verify(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[int]int{}
	for _, d := range l.deliveries {
		if d.seq < 1 || d.seq > l.lastSeq {
			t.Errorf("delivered unknown message %d (published 1..%d)", d.seq, l.lastSeq)
			continue
		}
		if seen[d.seq] > 0 && !d.redelivered {
			t.Errorf("message %d delivered again without redelivered=true", d.seq)
		}
		seen[d.seq]++
	}
	var lost []int
	for _, seq := range l.confirmed {
		if seen[seq] == 0 {
			lost = append(lost, seq)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		t.Errorf("%d confirmed messages never delivered, e.g. %v", len(lost), lost[:min(len(lost), 20)])
	}
	t.Logf("published %d, confirmed %d, %d deliveries of %d distinct messages",
		l.lastSeq, len(l.confirmed), len(l.deliveries), len(seen))
}

// dialRetry dials until it succeeds or stop closes (nil then).
func dialRetry(url string, stop <-chan struct{}) *amqp.Connection {
	for {
		if conn, err := amqp.Dial(url); err == nil {
			return conn
		}
		select {
		case <-stop:
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// crashPublish publishes persistent messages "1", "2", … one at a time with
// confirms, reconnecting after each crash. A message whose confirm did not arrive
// is never republished, so every sequence number is published once.
func crashPublish(url, queue string, log *crashLog, stop <-chan struct{}) {
	seq := 0
	for seq < crashMaxSeq {
		conn := dialRetry(url, stop)
		if conn == nil {
			return
		}
		ch, err := conn.Channel()
		if err == nil {
			err = ch.Confirm(false)
		}
		for err == nil && seq < crashMaxSeq {
			select {
			case <-stop:
				conn.Close()
				return
			default:
			}
			seq++
			log.published(seq)
			err = publishOne(ch, queue, seq, log)
		}
		conn.Close()
	}
}

func publishOne(ch *amqp.Channel, queue string, seq int, log *crashLog) error {
	dc, err := ch.PublishWithDeferredConfirm("", queue, false, false, amqp.Publishing{
		DeliveryMode: amqp.Persistent, Body: []byte(strconv.Itoa(seq)),
	})
	if err != nil {
		return err
	}
	select {
	case <-dc.Done():
		if dc.Acked() {
			log.confirm(seq)
		}
		if ch.IsClosed() {
			return amqp.ErrClosed
		}
		return nil
	case <-time.After(rpcTimeout):
		return amqp.ErrClosed
	}
}

// crashConsume consumes with manual acks, recording every delivery, reconnecting
// after each crash.
func crashConsume(url, queue string, log *crashLog, stop <-chan struct{}) {
	for {
		conn := dialRetry(url, stop)
		if conn == nil {
			return
		}
		consumeUntilLost(conn, queue, log, stop)
		conn.Close()
		select {
		case <-stop:
			return
		default:
		}
	}
}

func consumeUntilLost(conn *amqp.Connection, queue string, log *crashLog, stop <-chan struct{}) {
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	if err := ch.Qos(50, 0, false); err != nil {
		return
	}
	ds, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return
	}
	for {
		select {
		case <-stop:
			return
		case d, ok := <-ds:
			if !ok {
				return
			}
			log.delivered(d)
			if d.Ack(false) != nil {
				return
			}
		}
	}
}

// drainCrashQueue consumes what is left once warren runs undisturbed, until the
// queue is empty and no delivery arrives for quietPeriod.
func drainCrashQueue(t *testing.T, url, queue string, log *crashLog) {
	t.Helper()
	ch := openChannel(t, dialURL(t, url))
	ds := consume(t, ch, queue, "drain", false, nil)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case d := <-ds:
			log.delivered(d)
			if err := d.Ack(false); err != nil {
				t.Fatalf("ack: %v", err)
			}
		case <-time.After(quietPeriod):
			if q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil); err == nil && q.Messages == 0 {
				return
			}
		}
	}
	t.Fatal("queue not drained within 30 s")
}

// TestGracefulShutdown: SIGTERM closes client connections with 320
// CONNECTION_FORCED and exits 0; after a restart the durable exchange, queue and
// binding are back with the persistent messages in order.
func TestGracefulShutdown(t *testing.T) {
	pending(t)
	w := startWarren(t, t.TempDir())
	conn := dialURL(t, w.URL())
	closed := watchConnClose(conn)
	ch := openChannel(t, conn)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	const ex, queue = "e2e.graceful.x", "e2e.graceful.q"
	if err := ch.ExchangeDeclare(ex, "direct", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	bindQueue(t, ch, queue, "k", ex, nil)
	var want []string
	for i := range 10 {
		want = append(want, strconv.Itoa(i))
		publishConfirmed(t, ch, ex, "k", amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(want[i])})
	}

	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if code := w.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; output:\n%s", code, w.Output())
	}
	e := asAMQPError(t, awaitClose(t, closed), amqp.ConnectionForced)
	expectTextPrefix(t, e, "CONNECTION_FORCED - ")

	if err := w.Restart(); err != nil {
		t.Fatal(err)
	}
	ch = openChannel(t, dialURL(t, w.URL()))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclarePassive(ex, "direct", true, false, false, false, nil); err != nil {
		t.Fatalf("durable exchange lost: %v", err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	if !publishConfirm(t, ch, ex, "k", true, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("after")}) {
		t.Fatal("publish after restart nacked")
	}
	select {
	case <-returns:
		t.Fatal("binding lost: publish through the exchange was returned")
	default:
	}
	if got := drainBodies(t, ch, queue); !slices.Equal(got, append(want, "after")) {
		t.Errorf("queue after restart holds %q, want %q", got, append(want, "after"))
	}
}
