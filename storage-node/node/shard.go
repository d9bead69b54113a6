package node

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/tier"
)

// maxIterCmds bounds the commands applied in one shard iteration (one
// Pebble batch), so replies are not held back too long under load.
const maxIterCmds = 512

// qstate is a queue as its shard holds it.
type qstate struct {
	q        *queue.Queue
	ready    int64 // counts last added to the node counters
	unacked  int64
	deadline int64 // deadline last pushed on the timer heap (0 none)
	touched  bool
	// parked holds, in arrival order, the gets the queue answered
	// queue.ErrNotReady, with their reply channels, until it resumes.
	parked []cmd
	// tq is the queue's tier state (nil when tiering is off); readAhead
	// is its read-ahead last added to the node's; waitSlot: the queue is
	// in shard.tierWait.
	tq        *tier.Queue
	readAhead int64
	waitSlot  bool
	// waiting marks the lanes whose last Load answered ErrNotReady: their
	// next read is urgent (fetchPool.promote). nil until one waits.
	waiting []bool
	rates   rateSampler // the message rates (rates.go)
}

// shard owns a set of queues; every field below is touched only by its
// goroutine, except inbox, tick, posts (synchronized) and gatedInFlight.
type shard struct {
	n     *Node
	idx   int
	inbox chan cmd
	tick  chan struct{}
	posts struct {
		mu   sync.Mutex
		fns  []func(*shard)
		wake chan struct{}
	}
	com  *committer
	done chan struct{}

	queues  map[storage.QueueID]*qstate
	timers  timerHeap
	timer   Timer
	timerAt int64
	fx      effects
	ld      loader
	store   queue.Store // what the queues read through: &ld, or a test's wrapper

	// The current iteration.
	now        int64
	batch      *pebblestore.Batch
	touched    []*qstate
	syncWanted bool // some write or result of this iteration needs an fsync
	curSync    bool // the op being applied wrote a durable record
	gated      bool // a delivery must wait for the fsync
	parts      []*appendPart
	syncParts  []*appendPart
	replies    []pendingReply
	syncReply  []pendingReply
	staged     []*session // sessions with staged items
	dhw        []dhwAck
	outboxSeq  uint64
	wroteDL    bool
	cnt        shardCounters
	charged    int64 // cache bytes charged this iteration, not yet in Node.cached

	// Tiering (shard_tier.go): uploads and reads planned this iteration,
	// handed to the workers after the commit; queues waiting for an
	// uploader slot; reused buffers.
	tierJobs  []uploadJob
	tierReads []fetchReq
	tierWait  []*qstate
	tierUrge  []laneRef // lanes waiting for a read, to promote after the push
	tierDone  int64     // tiering.busy work finished this iteration
	fetchBuf  []tier.Fetch
	deadBuf   []pebblestore.Segment
	tierBuf   []queue.Entry
	// tierDeletes are the objects whose delete intents the batch holds,
	// handed to the deleter once it is durable (deleteObject).
	// tierCommits: the batch committed an upload (for crashPoint).
	tierDeletes []string
	tierCommits bool

	gatedInFlight atomic.Int32 // committer jobs holding deliveries
}

func newShard(n *Node, idx int) *shard {
	s := &shard{
		n:      n,
		idx:    idx,
		inbox:  make(chan cmd, n.opts.InboxSize),
		tick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		queues: map[storage.QueueID]*qstate{},
		batch:  n.db.NewBatch(),
	}
	s.posts.wake = make(chan struct{}, 1)
	s.fx.s = s
	s.ld.s = s
	s.store = &s.ld
	if n.tier != nil {
		s.store = &tieredLoader{s: s}
	}
	s.com = newCommitter(s)
	return s
}

func (s *shard) loader() queue.Store { return s.store }

func (s *shard) adopt(q *queue.Queue) *qstate {
	qs := &qstate{q: q, tq: s.newTier(q.Spec())}
	s.queues[q.ID()] = qs
	s.touch(qs)
	return qs
}

func (s *shard) start() {
	go s.com.run()
	go s.run()
	// A first iteration arms the timers of recovered queues (TTL heads,
	// x-expires) without waiting for a command.
	s.post(func(*shard) {})
}

// stop asks the shard to flush, sync and exit, and waits for it.
func (s *shard) stop() error {
	r := make(chan result, 1)
	s.inbox <- cmd{kind: cmdStop, resp: r}
	<-s.done
	return (<-r).err
}

// post runs fn on the shard's goroutine at its next iteration.
func (s *shard) post(fn func(*shard)) {
	s.posts.mu.Lock()
	s.posts.fns = append(s.posts.fns, fn)
	s.posts.mu.Unlock()
	select {
	case s.posts.wake <- struct{}{}:
	default:
	}
}

func (s *shard) run() {
	defer close(s.done)
	for {
		select {
		case c := <-s.inbox:
			s.begin()
			if !s.apply(c) {
				return
			}
			if !s.drain() {
				return
			}
			s.end()
		case <-s.posts.wake:
			s.begin()
			s.runPosts()
			s.end()
		case <-s.tick:
			s.timerAt = 0
			s.begin()
			s.end()
		}
	}
}

// drain applies what else is waiting, up to maxIterCmds, into the same
// iteration: the natural batching of a busy shard.
func (s *shard) drain() bool {
	for range maxIterCmds {
		select {
		case c := <-s.inbox:
			if !s.apply(c) {
				return false
			}
		default:
			return true
		}
	}
	return true
}

func (s *shard) runPosts() {
	s.posts.mu.Lock()
	fns := s.posts.fns
	s.posts.fns = nil
	s.posts.mu.Unlock()
	for _, fn := range fns {
		fn(s)
	}
}

func (s *shard) begin() {
	s.now = s.n.nowMs()
}

func (s *shard) touch(qs *qstate) {
	if !qs.touched {
		qs.touched = true
		s.touched = append(s.touched, qs)
	}
}

// end finishes an iteration: timers, metadata, commit, replies, deliveries.
func (s *shard) end() {
	s.runTimers()
	s.flushTouched()
	s.flushCounters()
	if s.charged != 0 {
		s.n.cached.Add(s.charged)
		s.charged = 0
	}
	s.commit()
	s.dispatchTier()
	s.armTimer()
}

// Over implements queue.Budget for the shard's queues: the node's cache,
// counting what this shard charged since its last iteration, is spent.
func (s *shard) Over() bool { return s.n.cached.Load()+s.charged > s.n.opts.CacheBytes }

// Charge implements queue.Budget.
func (s *shard) Charge(delta int64) { s.charged += delta }

// flushTouched persists the metadata of touched queues and brings the node
// counters and timers up to date with them.
func (s *shard) flushTouched() {
	for _, qs := range s.touched {
		qs.touched = false
		s.flushQueue(qs)
		s.account(qs)
		qs.rates.observe(s.now, qs.q.Counts())
		s.schedule(qs)
		if qs.tq != nil {
			s.pickUpload(qs)
		}
	}
	s.touched = s.touched[:0]
}

// schedule keeps one live timer entry per queue, at or before its
// deadline: a later deadline waits for the earlier entry to fire (its Tick
// finds nothing to do and reschedules), so the heap does not fill with
// entries made stale by every delivery.
func (s *shard) schedule(qs *qstate) {
	d := qs.q.Deadline()
	if d == 0 || (qs.deadline != 0 && qs.deadline <= d) {
		return
	}
	qs.deadline = d
	s.timers.push(timerEntry{at: d, q: qs.q.ID()})
	if len(s.timers) > 2*len(s.queues)+64 {
		s.compactTimers()
	}
}

// compactTimers drops stale entries.
func (s *shard) compactTimers() {
	old := s.timers
	s.timers = nil
	for _, e := range old {
		if qs := s.queues[e.q]; qs != nil && qs.deadline == e.at {
			s.timers.push(e)
		}
	}
}

// account moves the node-wide message counters by what the queue changed
// since it was last accounted.
func (s *shard) account(qs *qstate) {
	st := qs.q.Stats()
	if d := int64(st.Ready) - qs.ready; d != 0 {
		s.n.m.ready.Add(d)
		qs.ready = int64(st.Ready)
	}
	if d := int64(st.Unacked) - qs.unacked; d != 0 {
		s.n.m.unacked.Add(d)
		qs.unacked = int64(st.Unacked)
	}
	s.accountTier(qs)
}

// forget removes a deleted queue's share of the node counters.
func (s *shard) forget(qs *qstate) {
	s.n.m.ready.Add(-qs.ready)
	s.n.m.unacked.Add(-qs.unacked)
	s.accountTier(qs) // after Drop: takes the queue's hot records and read-ahead off the node
	*qs = qstate{q: qs.q, touched: qs.touched}
}

// commit applies the iteration's batch: with Sync (handed to the
// committer) when something needs an fsync, else NoSync. Callers that need
// no fsync are answered at once.
func (s *shard) commit() {
	sync := s.syncWanted || s.gated
	var j *job
	if sync {
		j = s.syncJob()
	} else if !s.batch.Empty() {
		if err := s.n.db.Pebble().Apply(s.batch.Pebble(), pebble.NoSync); err != nil {
			s.n.fail(err)
		}
		s.batch.Pebble().Reset()
	}
	// Deliveries first: a caller answered next (consume-ok, a test's
	// barrier) finds them already in its session.
	extra := s.pushDeliveries(j)
	s.answer()
	if s.wroteDL {
		s.wroteDL = false
		s.n.outbox.wake()
	}
	if j != nil {
		s.com.push(j)
	}
	if extra != nil {
		s.com.push(extra)
	}
	s.syncWanted, s.gated = false, false
}

// syncJob commits the batch with Sync without waiting for the fsync, and
// returns the committer job that will wait for it.
func (s *shard) syncJob() *job {
	if s.batch.Empty() {
		s.batch.LogMark()
	}
	j := &job{batch: s.batch.Pebble(), parts: s.syncParts, replies: s.syncReply, dhw: s.dhw,
		tierDeletes: s.tierDeletes}
	if err := s.n.db.Pebble().ApplyNoSyncWait(j.batch, pebble.Sync); err != nil {
		s.n.fail(err)
		j.err = err
	}
	s.batch = s.n.db.NewBatch()
	s.syncParts, s.syncReply, s.dhw, s.tierDeletes = nil, nil, nil, nil
	s.n.m.syncedCommits.Add(1)
	return j
}

// answer completes the appends and replies that needed no fsync.
func (s *shard) answer() {
	err := s.n.failure()
	for i, p := range s.parts {
		p.finish(err)
		s.parts[i] = nil
	}
	s.parts = s.parts[:0]
	for i, r := range s.replies {
		r.ch <- r.r
		s.replies[i] = pendingReply{}
	}
	s.replies = s.replies[:0]
}

// pushDeliveries hands staged items to their sessions, through a
// committer job when deliveries must wait for an fsync, and also while
// earlier ones still wait, so that each consumer keeps its order. It
// returns a job to push when j was nil but one was needed.
func (s *shard) pushDeliveries(j *job) (extra *job) {
	if len(s.staged) == 0 {
		return nil
	}
	viaJob := s.gated || s.gatedInFlight.Load() > 0
	if viaJob && j == nil {
		j = &job{}
		extra = j
	}
	for _, sess := range s.staged {
		items := sess.staged[s.idx]
		if viaJob {
			j.addDeliveries(sess, items)
		} else {
			sess.push(items)
		}
		clear(items)
		sess.staged[s.idx] = items[:0]
	}
	s.staged = s.staged[:0]
	if viaJob {
		j.gated = true
		s.gatedInFlight.Add(1)
	}
	return extra
}

// timers

type timerEntry struct {
	at int64
	q  storage.QueueID
}

type timerHeap []timerEntry

func (h *timerHeap) push(e timerEntry) {
	*h = append(*h, e)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].at <= a[i].at {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *timerHeap) pop() timerEntry {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(a) && a[l].at < a[m].at {
			m = l
		}
		if r < len(a) && a[r].at < a[m].at {
			m = r
		}
		if m == i {
			break
		}
		a[m], a[i] = a[i], a[m]
		i = m
	}
	*h = a
	return top
}

// runTimers ticks the queues whose deadline has come. Entries whose queue
// has since moved its deadline are stale and skipped.
func (s *shard) runTimers() {
	for len(s.timers) > 0 && s.timers[0].at <= s.now {
		e := s.timers.pop()
		qs := s.queues[e.q]
		if qs == nil || qs.deadline != e.at {
			continue
		}
		qs.deadline = 0
		qs.q.Tick(s.now, &s.fx)
		s.touch(qs)
	}
}

// armTimer makes the clock wake the shard at the earliest deadline.
func (s *shard) armTimer() {
	for len(s.timers) > 0 {
		e := s.timers[0]
		if qs := s.queues[e.q]; qs != nil && qs.deadline == e.at {
			break
		}
		s.timers.pop()
	}
	if len(s.timers) == 0 {
		return
	}
	at := s.timers[0].at
	if s.timerAt != 0 && s.timerAt <= at {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerAt = at
	d := time.Duration(at-s.now) * time.Millisecond
	s.timer = s.n.opts.Clock.AfterFunc(max(d, 0), func() {
		select {
		case s.tick <- struct{}{}:
		default:
		}
	})
}
