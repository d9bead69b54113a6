package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/amqp"

	"github.com/warrenmq/warren/api/storage"
)

var bg = context.Background()

// fakeClock is a Clock the test moves by hand.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves time and runs the timers that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// sink records what a session receives.
type sink struct {
	mu        sync.Mutex
	got       []storage.Delivery
	cancelled []string
	reasons   []error
	changed   chan struct{}
	block     chan struct{} // when set, Deliver waits for it to close
}

func newSink() *sink { return &sink{changed: make(chan struct{}, 1)} }

func (s *sink) Deliver(batch []storage.Delivery) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	s.got = append(s.got, batch...)
	s.mu.Unlock()
	s.notify()
}

func (s *sink) Cancelled(tag string, reason error) {
	s.mu.Lock()
	s.cancelled = append(s.cancelled, tag)
	s.reasons = append(s.reasons, reason)
	s.mu.Unlock()
	s.notify()
}

func (s *sink) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// wait waits until the sink holds at least n deliveries and returns them.
func (s *sink) wait(t *testing.T, n int) []storage.Delivery {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		if len(s.got) >= n {
			out := append([]storage.Delivery(nil), s.got...)
			s.mu.Unlock()
			return out
		}
		have := len(s.got)
		s.mu.Unlock()
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("waited for %d deliveries, have %d", n, have)
		}
	}
}

// take returns and forgets what the sink holds.
func (s *sink) take() []storage.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.got
	s.got = nil
	return out
}

func (s *sink) cancels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cancelled...)
}

// bodies renders deliveries as "body" or "body*" (redelivered).
func bodies(ds []storage.Delivery) string {
	out := ""
	for i, d := range ds {
		if i > 0 {
			out += " "
		}
		out += string(d.Msg.Body)
		if d.Redelivered {
			out += "*"
		}
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testNode opens a node on an in-memory filesystem.
func testNode(t *testing.T, opts Options) (*Node, vfs.FS) {
	t.Helper()
	if opts.FS == nil {
		opts.FS = vfs.NewMem()
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.Shards == 0 {
		opts.Shards = 2
	}
	opts.DiskFreeLimit = -1
	n, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n, opts.FS
}

func spec(id storage.QueueID, name string) storage.QueueSpec {
	return storage.QueueSpec{ID: id, VHost: "/", Name: name, MessageTTL: -1, Expires: -1, MaxLength: -1, MaxLengthBytes: -1}
}

func durable(id storage.QueueID, name string) storage.QueueSpec {
	s := spec(id, name)
	s.Durable = true
	return s
}

func mustCreate(t *testing.T, n *Node, s storage.QueueSpec) {
	t.Helper()
	if err := n.CreateQueue(bg, s); err != nil {
		t.Fatal(err)
	}
}

func message(body string, persistent bool) *storage.Message {
	return &storage.Message{Exchange: "ex", RoutingKey: "rk", Body: []byte(body), Persistent: persistent, TTL: -1}
}

// publish appends bodies to queue q, one publish each, in one Append.
func publish(t *testing.T, n *Node, q storage.QueueID, persistent bool, bodies ...string) []storage.Outcome {
	t.Helper()
	batch := make([]storage.Publish, len(bodies))
	for i, b := range bodies {
		batch[i] = storage.Publish{Queues: []storage.QueueID{q}, Msg: message(b, persistent)}
	}
	out, err := n.Append(bg, batch)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func seqBodies(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// syncShards waits until every shard has processed what was sent before.
func syncShards(t *testing.T, n *Node) {
	t.Helper()
	for _, s := range n.shards {
		if _, err := n.call(bg, s, cmd{kind: cmdFunc, fn: func(*shard) {}}); err != nil {
			t.Fatal(err)
		}
	}
}

func openSession(t *testing.T, n *Node) (storage.Session, *sink) {
	t.Helper()
	sk := newSink()
	s, err := n.OpenSession(bg, sk)
	if err != nil {
		t.Fatal(err)
	}
	return s, sk
}

func settleAll(ds []storage.Delivery, kind storage.SettleKind) []storage.Settle {
	ops := make([]storage.Settle, len(ds))
	for i, d := range ds {
		ops[i] = storage.Settle{Queue: d.Queue, ID: d.ID, Kind: kind}
	}
	return ops
}

func sortedIDs(ds []storage.Delivery) []storage.MsgID {
	ids := make([]storage.MsgID, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// dlRecorder is a DeadLetterer that records, failing the first failures calls.
type dlRecorder struct {
	mu       sync.Mutex
	got      []storage.DeadLetter
	n        int
	failures int
	changed  chan struct{}
}

func newDLRecorder() *dlRecorder { return &dlRecorder{changed: make(chan struct{}, 1)} }

func (d *dlRecorder) DeadLetter(_ context.Context, batch []storage.DeadLetter) error {
	d.mu.Lock()
	d.n++
	if d.failures > 0 {
		d.failures--
		d.mu.Unlock()
		return fmt.Errorf("injected failure")
	}
	d.got = append(d.got, batch...)
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
	return nil
}

func (d *dlRecorder) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.got)
}

func (d *dlRecorder) calls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

func (d *dlRecorder) wait(t *testing.T, n int) []storage.DeadLetter {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		d.mu.Lock()
		if len(d.got) >= n {
			out := append([]storage.DeadLetter(nil), d.got...)
			d.mu.Unlock()
			return out
		}
		d.mu.Unlock()
		select {
		case <-d.changed:
		case <-deadline:
			t.Fatalf("waited for %d dead letters", n)
		}
	}
}

type dlFunc func([]storage.DeadLetter) error

func (f dlFunc) DeadLetter(_ context.Context, b []storage.DeadLetter) error { return f(b) }

type eventRecorder struct{ ch chan string }

func (e *eventRecorder) QueueUnused(id storage.QueueID, reason string) {
	e.ch <- fmt.Sprintf("%d %s", id, reason)
}

func (e *eventRecorder) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-e.ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return ""
	}
}

// headersOf decodes a message's headers.
func headersOf(t *testing.T, m *storage.Message) amqp.Table {
	t.Helper()
	p, err := amqp.DecodeProperties(m.Properties)
	if err != nil {
		t.Fatal(err)
	}
	return p.Headers
}

// quiesce waits until every command sent so far has been applied, every
// fsync-gated delivery pushed, and every session has handed its outbox to
// its Sink.
func quiesce(t *testing.T, n *Node) {
	t.Helper()
	for {
		before := n.m.delivered.Load()
		quiesceOnce(t, n)
		if n.m.delivered.Load() == before {
			return
		}
	}
}

func quiesceOnce(t *testing.T, n *Node) {
	for _, s := range n.shards {
		// The first call ends the iteration of everything sent before, so
		// its committer job is queued before the notify job.
		if _, err := n.call(bg, s, cmd{kind: cmdFunc, fn: func(*shard) {}}); err != nil {
			t.Fatal(err)
		}
		var ch chan struct{}
		if _, err := n.call(bg, s, cmd{kind: cmdFunc, fn: func(s *shard) {
			ch = make(chan struct{})
			s.com.push(&job{notify: ch})
		}}); err != nil {
			t.Fatal(err)
		}
		<-ch
	}
	n.sessions.mu.Lock()
	all := make([]*session, 0, len(n.sessions.all))
	for s := range n.sessions.all {
		all = append(all, s)
	}
	n.sessions.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range all {
		for {
			s.mu.Lock()
			idle := len(s.mu.out) == 0 && !s.mu.flushing
			s.mu.Unlock()
			if idle {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("session did not go idle")
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
