package node

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// job is what a shard hands its committer after an iteration: a batch
// already applied with Sync whose fsync must be waited for, and what to do
// once it is durable. A job without a batch only pushes deliveries, in
// order behind earlier jobs.
type job struct {
	batch   *pebble.Batch
	err     error // the commit itself failed
	parts   []*appendPart
	replies []pendingReply
	deliver []sessionItems
	dhw     []dhwAck
	gated   bool          // holds deliveries counted in shard.gatedInFlight
	stopped chan struct{} // closed when done; the committer then exits
	notify  chan struct{} // closed when done

	// tierDeletes are the objects whose delete intents the batch holds:
	// the deleter gets them once the batch is durable (TIERING.md §3).
	tierDeletes []string
}

type sessionItems struct {
	sess  *session
	items []item
}

func (j *job) addDeliveries(sess *session, items []item) {
	j.deliver = append(j.deliver, sessionItems{sess: sess, items: append([]item(nil), items...)})
}

// committer waits for fsyncs in order, off the shard's goroutine. Its
// queue is unbounded but fed at most one job per shard iteration, and it
// drains a job as soon as Pebble's WAL writer has synced it.
type committer struct {
	s  *shard
	mu struct {
		sync.Mutex
		jobs []*job
	}
	wake chan struct{}
}

func newCommitter(s *shard) *committer {
	return &committer{s: s, wake: make(chan struct{}, 1)}
}

func (c *committer) push(j *job) {
	c.mu.Lock()
	c.mu.jobs = append(c.mu.jobs, j)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *committer) run() {
	var jobs []*job
	for range c.wake {
		c.mu.Lock()
		jobs, c.mu.jobs = c.mu.jobs, jobs[:0]
		c.mu.Unlock()
		for i, j := range jobs {
			if c.finish(j) {
				return
			}
			jobs[i] = nil
		}
	}
}

// finish waits for j's fsync and completes it; it reports true for the
// stop job, after which the committer exits.
func (c *committer) finish(j *job) bool {
	n := c.s.n
	err := j.err
	if j.batch != nil {
		if werr := j.batch.SyncWait(); werr != nil && err == nil {
			err = werr
			n.fail(werr)
		}
		_ = j.batch.Close()
	}
	for _, p := range j.parts {
		p.finish(err)
	}
	for _, r := range j.replies {
		if err != nil && r.r.err == nil {
			r.r.err = err
		}
		r.ch <- r.r
	}
	for _, d := range j.deliver {
		d.sess.push(d.items)
	}
	if j.gated {
		c.s.gatedInFlight.Add(-1)
	}
	if len(j.tierDeletes) > 0 {
		n.tier.deleteSynced(j.tierDeletes, err)
	}
	if len(j.dhw) > 0 && err == nil {
		acks := j.dhw
		c.s.post(func(s *shard) { s.synced(acks) })
	}
	if j.notify != nil {
		close(j.notify)
	}
	if j.stopped != nil {
		close(j.stopped)
		return true
	}
	return false
}

// synced tells queues their delivered mark is durable.
func (s *shard) synced(acks []dhwAck) {
	for _, a := range acks {
		if qs := s.queues[a.q]; qs != nil {
			qs.q.Synced(a.dhw)
		}
	}
}
