package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// storageNode1 is the first storage node's index in splitDeployment.procs.
const storageNode1 = 1

const (
	// restartQueues is how many queues the test spreads over the two storage
	// nodes; placement picks the node with the fewest queues, so a handful
	// lands on each unless earlier tests left them far out of balance.
	restartQueues = 8
	// confirmBound is the longest a publish may wait for its confirm, even
	// while the node of its queue is down.
	confirmBound = 15 * time.Second
	// recoverBound bounds each wait for the deployment to react: cancels
	// after the kill, progress of the surviving queues, reconnection after
	// the restart, the backlog reaching the consumers.
	recoverBound = 30 * time.Second
)

// TestStorageNodeRestart (split deployment only): a storage node SIGKILLed
// under a confirming publisher and consumers of durable queues on both nodes.
// The consumers of its queues get basic.cancel and the rest keep going; every
// publish gets its confirm within a bound (nacks for the dead node's queues);
// acks of deliveries from the lost node are accepted. Once the node is back
// the gateways reach it by themselves, a new consume on the same channel
// works, and every message that was confirmed is delivered.
func TestStorageNodeRestart(t *testing.T) {
	pending(t)
	if !splitShape() || usingExternalBroker() {
		t.Skip("needs the split deployment (E2E_SHAPE=split)")
	}
	brokerURL(t)
	d := suite.split
	r := newRestartRun(t, dialURL(t, d.gateways[0]), dialURL(t, d.gateways[1]))
	defer r.explainFailure()
	r.startConsumers()
	r.startPublisher()
	r.waitEach(r.queues, func(q *queueTally) int { return q.received }, 5, "every queue to deliver before the kill")

	d.kill(storageNode1)
	restarted := false
	defer func() {
		if !restarted {
			if err := d.restart(storageNode1); err != nil {
				t.Errorf("restarting storage node 1: %v", err)
			}
		}
	}()
	lost, live := r.splitByCancel()
	t.Logf("queues on the killed node: %d, on the other: %d", len(lost), len(live))
	r.waitEach(live, func(q *queueTally) int { return q.received }, 10, "the other node's queues to keep delivering")
	r.waitEach(live, func(q *queueTally) int { return q.acked }, 10, "confirms for the other node's queues")
	r.waitEach(lost, func(q *queueTally) int { return q.nacked }, 1, "nacks for publishes to the killed node's queues")
	r.awaitConsumersGone(lost)
	expectHomeNodeDown(t, dialURL(t, d.gateways[1]), lost[0].name)

	if err := d.restart(storageNode1); err != nil {
		t.Fatal(err)
	}
	restarted = true
	r.waitEach(lost, func(q *queueTally) int { return q.acked }, 5, "confirms for the restarted node's queues")
	r.consumeAgain(lost)
	r.waitEach(lost, func(q *queueTally) int { return q.received }, 5, "deliveries on the same channel after the restart")

	r.stopPublisher()
	r.awaitConfirmedReceived()
}

// restartRun is the state of one TestStorageNodeRestart: what was
// published, confirmed and received, per queue. Its goroutines report
// failures through errs; the test goroutine checks them in every wait.
type restartRun struct {
	t       *testing.T
	cons    *amqp.Channel // every consumer, before and after the restart
	pub     *amqp.Channel // confirm mode
	closed  []<-chan *amqp.Error
	cancels <-chan string
	queues  []*queueTally
	stop    chan struct{}
	pubDone chan error
	errs    chan error

	mu        sync.Mutex // guards the tallies and the sets below
	confirmed map[string]bool
	received  map[string]int
	lateAcks  int // acks sent after the consumer ended, most of them for a lost session
}

// queueTally counts one queue's traffic; guarded by restartRun.mu.
type queueTally struct {
	name                    string
	tag                     string // its current consumer
	consumerGone            chan struct{}
	acked, nacked, received int
}

func newRestartRun(t *testing.T, consConn, pubConn *amqp.Connection) *restartRun {
	r := &restartRun{t: t, stop: make(chan struct{}), pubDone: make(chan error, 1), errs: make(chan error, 16),
		confirmed: map[string]bool{}, received: map[string]int{}}
	r.cons = openChannel(t, consConn)
	if err := r.cons.Qos(20, 0, false); err != nil {
		t.Fatal(err)
	}
	r.cancels = r.cons.NotifyCancel(make(chan string, 2*restartQueues))
	r.pub = openChannel(t, pubConn)
	if err := r.pub.Confirm(false); err != nil {
		t.Fatal(err)
	}
	r.closed = []<-chan *amqp.Error{watchClose(r.cons), watchClose(r.pub)}
	for i := 0; i < restartQueues; i++ {
		name := uniqueName(t, fmt.Sprintf("q%d", i))
		if _, err := r.cons.QueueDeclare(name, true, false, false, false, nil); err != nil {
			t.Fatalf("declare %s: %v", name, err)
		}
		cleanupQueue(t, name)
		r.queues = append(r.queues, &queueTally{name: name})
		awaitQueueOn(t, pubConn, name)
	}
	t.Cleanup(func() { r.stopPublisher() })
	return r
}

// awaitQueueOn waits until conn's gateway knows a queue another gateway
// declared: until then its publishes to the queue are unroutable, which
// confirms ack, and the test would count them as confirmed and lost.
func awaitQueueOn(t *testing.T, conn *amqp.Connection, name string) {
	t.Helper()
	waitFor(t, func() bool {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatalf("open channel: %v", err)
		}
		defer ch.Close()
		_, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
		return err == nil
	}, recoverBound, "the publisher's gateway to know queue %s", name)
}

// check fails the test if a goroutine reported an error or a channel closed.
func (r *restartRun) check() {
	r.t.Helper()
	select {
	case err := <-r.errs:
		r.t.Fatal(err)
	default:
	}
	for _, c := range r.closed {
		select {
		case e := <-c:
			r.t.Fatalf("a channel closed: %v", e)
		default:
		}
	}
}

func (r *restartRun) startConsumers() {
	for i, q := range r.queues {
		r.consume(q, fmt.Sprintf("c%d", i))
	}
}

// consume starts a consumer on the shared channel. It acks in groups of
// three and keeps its first delivery unacked until it ends, so a consumer
// cancelled with its node acks at least one delivery of the lost session.
func (r *restartRun) consume(q *queueTally, tag string) {
	ds, err := r.cons.Consume(q.name, tag, false, false, false, false, nil)
	if err != nil {
		r.t.Fatalf("consume %s: %v", q.name, err)
	}
	r.mu.Lock()
	q.tag, q.consumerGone = tag, make(chan struct{})
	gone := q.consumerGone
	r.mu.Unlock()
	go func() {
		defer close(gone)
		var held []amqp.Delivery
		for dl := range ds {
			r.mu.Lock()
			q.received++
			r.received[string(dl.Body)]++
			r.mu.Unlock()
			if held = append(held, dl); len(held) == 4 {
				r.ack(held[1:])
				held = held[:1]
			}
		}
		r.mu.Lock()
		r.lateAcks += len(held)
		r.mu.Unlock()
		r.ack(held)
	}()
}

func (r *restartRun) ack(ds []amqp.Delivery) {
	for _, dl := range ds {
		if err := dl.Ack(false); err != nil {
			r.report(fmt.Errorf("ack %q: %w", dl.Body, err))
			return
		}
	}
}

func (r *restartRun) report(err error) {
	select {
	case r.errs <- err:
	default:
	}
}

func (r *restartRun) startPublisher() {
	go func() { r.pubDone <- r.publish() }()
}

func (r *restartRun) stopPublisher() {
	select {
	case <-r.stop:
		return
	default:
	}
	close(r.stop)
	if err := <-r.pubDone; err != nil {
		r.t.Errorf("publisher: %v", err)
	}
}

// publish sends rounds of one persistent message per queue and waits, within
// confirmBound, for each round's confirms.
func (r *restartRun) publish() error {
	type inFlight struct {
		q    *queueTally
		body string
		dc   *amqp.DeferredConfirmation
	}
	for seq := 0; ; seq++ {
		select {
		case <-r.stop:
			return nil
		case <-time.After(5 * time.Millisecond):
		}
		round := make([]inFlight, 0, len(r.queues))
		for _, q := range r.queues {
			body := fmt.Sprintf("%s#%d", q.name, seq)
			dc, err := r.pub.PublishWithDeferredConfirm("", q.name, false, false,
				amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(body)})
			if err != nil {
				return fmt.Errorf("publish %s: %w", body, err)
			}
			round = append(round, inFlight{q, body, dc})
		}
		for _, p := range round {
			ctx, cancel := context.WithTimeout(context.Background(), confirmBound)
			ack, err := p.dc.WaitContext(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("no confirm for %s within %v", p.body, confirmBound)
			}
			r.confirm(p.q, p.body, ack)
		}
	}
}

func (r *restartRun) confirm(q *queueTally, body string, ack bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ack {
		q.acked++
		r.confirmed[body] = true
	} else {
		q.nacked++
	}
}

// waitEach waits until count grows by at least n on every queue of qs.
func (r *restartRun) waitEach(qs []*queueTally, count func(*queueTally) int, n int, what string) {
	r.t.Helper()
	r.mu.Lock()
	base := make([]int, len(qs))
	for i, q := range qs {
		base[i] = count(q)
	}
	r.mu.Unlock()
	waitFor(r.t, func() bool {
		r.check()
		r.mu.Lock()
		defer r.mu.Unlock()
		for i, q := range qs {
			if count(q) < base[i]+n {
				return false
			}
		}
		return true
	}, recoverBound, what)
}

// splitByCancel tells the killed node's queues, whose consumers get
// basic.cancel, from the other node's. Cancels of one node's consumers come
// together, when the gateway loses its session; a moment after the first,
// every one has arrived.
func (r *restartRun) splitByCancel() (lost, live []*queueTally) {
	r.t.Helper()
	cancelled := map[string]bool{}
	select {
	case tag := <-r.cancels:
		cancelled[tag] = true
	case <-time.After(recoverBound):
		r.t.Fatalf("no basic.cancel within %v of killing storage node 1 (or no queue of the test was placed on it)", recoverBound)
	}
	settle := time.After(2 * time.Second)
	for collecting := true; collecting; {
		select {
		case tag := <-r.cancels:
			cancelled[tag] = true
		case <-settle:
			collecting = false
		}
	}
	r.mu.Lock()
	for _, q := range r.queues {
		if cancelled[q.tag] {
			lost = append(lost, q)
		} else {
			live = append(live, q)
		}
	}
	r.mu.Unlock()
	if len(live) == 0 {
		r.t.Fatalf("all %d queues were on storage node 1; placement should have spread them", len(r.queues))
	}
	return lost, live
}

// awaitConsumersGone waits until the cancelled consumers' delivery channels
// have closed and their held deliveries are acked.
func (r *restartRun) awaitConsumersGone(qs []*queueTally) {
	r.t.Helper()
	for _, q := range qs {
		select {
		case <-q.consumerGone:
		case <-time.After(rpcTimeout):
			r.t.Fatalf("the cancelled consumer of %s still runs", q.name)
		}
	}
	r.mu.Lock()
	late := r.lateAcks
	r.mu.Unlock()
	if late < len(qs) {
		r.t.Fatalf("%d acks after the cancels, want one at least per cancelled consumer (%d)", late, len(qs))
	}
	r.check()
}

// consumeAgain opens new consumers on the channel whose consumers were cancelled.
func (r *restartRun) consumeAgain(qs []*queueTally) {
	for i, q := range qs {
		r.consume(q, fmt.Sprintf("again%d", i))
	}
}

// awaitConfirmedReceived waits until every confirmed message was delivered
// at least once, and logs the counts.
func (r *restartRun) awaitConfirmedReceived() {
	r.t.Helper()
	var missing []string
	var nMissing int
	waitFor(r.t, func() bool {
		r.check()
		r.mu.Lock()
		defer r.mu.Unlock()
		missing = missing[:0]
		for body := range r.confirmed {
			if r.received[body] == 0 {
				missing = append(missing, body)
			}
		}
		nMissing = len(missing)
		return nMissing == 0
	}, recoverBound, "every confirmed message to be delivered (%d missing, e.g. %v)", &nMissing, firstFew(&missing))
	r.mu.Lock()
	defer r.mu.Unlock()
	var acked, nacked, dups int
	for _, q := range r.queues {
		acked, nacked = acked+q.acked, nacked+q.nacked
	}
	for _, n := range r.received {
		dups += n - 1
	}
	r.t.Logf("confirmed %d, nacked %d, delivered %d distinct (%d redeliveries); %d acks after a cancel",
		acked, nacked, len(r.received), dups, r.lateAcks)
}

// firstFew renders a few names of a list that waitFor prints at failure.
type fewNames struct{ list *[]string }

func firstFew(l *[]string) fmt.Stringer { return fewNames{l} }

func (f fewNames) String() string {
	l := *f.list
	if len(l) > 3 {
		l = l[:3]
	}
	return strings.Join(l, ", ")
}

// explainFailure logs each queue's tallies and counts when the test failed.
func (r *restartRun) explainFailure() {
	if !r.t.Failed() {
		return
	}
	ch, err := adminChannel(suite.split.gateways[0])
	if err != nil {
		r.t.Logf("no admin channel: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	missing := map[string]int{}
	for body := range r.confirmed {
		if r.received[body] == 0 {
			missing[body[:strings.IndexByte(body, '#')]]++
		}
	}
	for _, q := range r.queues {
		line := fmt.Sprintf("%s consumer %s: acked %d nacked %d received %d missing %d",
			q.name, q.tag, q.acked, q.nacked, q.received, missing[q.name])
		if ch != nil {
			if st, err := ch.QueueDeclarePassive(q.name, true, false, false, false, nil); err == nil {
				line += fmt.Sprintf("; now ready %d consumers %d", st.Messages, st.Consumers)
			} else {
				line += fmt.Sprintf("; declare-passive: %v", err)
				ch, _ = adminChannel(suite.split.gateways[0])
			}
		}
		r.t.Log(line)
	}
}

// expectHomeNodeDown: while a queue's node is down, basic.get on it closes
// the channel with RabbitMQ's 404 "home node ... is down or inaccessible",
// and the connection stays usable.
func expectHomeNodeDown(t *testing.T, conn *amqp.Connection, queue string) {
	t.Helper()
	ch := openChannel(t, conn)
	_, _, err := ch.Get(queue, false)
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.NotFound || !strings.Contains(ae.Reason, "is down or inaccessible") {
		t.Fatalf("basic.get on %s while its node is down: %v, want 404 home node down", queue, err)
	}
	if conn.IsClosed() {
		t.Fatal("the connection closed; RabbitMQ closes only the channel")
	}
	openChannel(t, conn).Close()
}
