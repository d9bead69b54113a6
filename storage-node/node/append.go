package node

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/warrenmq/warren/api/storage"
)

// appendCall is one Append: split into one part per shard it touches.
type appendCall struct {
	batch    []storage.Publish
	outcomes []storage.Outcome
	pending  atomic.Int32
	done     chan struct{}
	one      appendPart // the part when a single shard is involved
	parts    []shardPart
	buf      [1]shardPart
	mu       sync.Mutex // guards err
	err      error
}

type shardPart struct {
	s *shard
	p *appendPart
}

// appendPart is the share of an Append that one shard applies. The shard
// (or its committer) writes rejected/errs; the caller reads them once the
// call is done.
type appendPart struct {
	call     *appendCall
	idx      []int32 // publishes of this part; nil means all, on one shard
	rejected []rejection
	errs     []publishErr
}

type rejection struct {
	i int32
	q storage.QueueID
}

type publishErr struct {
	i   int32
	err error
}

// finish completes the part; err is the commit's failure, if any.
func (p *appendPart) finish(err error) {
	c := p.call
	if err != nil {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	}
	if c.pending.Add(-1) == 0 {
		c.done <- struct{}{}
	}
}

// Append stores a batch of publishes; it returns once every persistent
// message bound for a durable queue is fsynced (sharing the fsync with
// every other append in flight) and the others are applied. Outcome.Err is
// a 404 when a target queue does not exist: nothing of that publish is
// stored. An error return (context done, node closed or failed) means the
// batch's fate is unknown. The node keeps the Messages: the caller must not
// modify them afterwards.
func (n *Node) Append(ctx context.Context, batch []storage.Publish) ([]storage.Outcome, error) {
	return n.StartAppend(ctx, batch)()
}

// StartAppend queues the batch on its shards and returns; wait gives what
// Append would. Batches a caller starts one after the other are applied in
// that order, since each shard takes its commands in order.
func (n *Node) StartAppend(ctx context.Context, batch []storage.Publish) (wait func() ([]storage.Outcome, error)) {
	if err := n.usable(); err != nil {
		return failedAppend(err)
	}
	c := &appendCall{batch: batch, outcomes: make([]storage.Outcome, len(batch)), done: make(chan struct{}, 1)}
	n.split(c)
	c.pending.Store(int32(len(c.parts)))
	if len(c.parts) == 0 {
		return func() ([]storage.Outcome, error) { return c.outcomes, nil }
	}
	for _, sp := range c.parts {
		if err := n.send(ctx, sp.s, cmd{kind: cmdAppend, part: sp.p}); err != nil {
			return failedAppend(err)
		}
	}
	return func() ([]storage.Outcome, error) {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.stopped:
			return nil, ErrClosed
		}
		return c.result()
	}
}

func failedAppend(err error) func() ([]storage.Outcome, error) {
	return func() ([]storage.Outcome, error) { return nil, err }
}

// split assigns the publishes to shards (c.parts). The common case, every
// queue on one shard, is one part whose shard checks that the queues
// exist. A publish spanning shards is checked here, against the registry,
// so that a missing queue stores nothing of it.
func (n *Node) split(c *appendCall) {
	var first *shard
	single := true
	for i := range c.batch {
		for _, q := range c.batch[i].Queues {
			s := n.shardOf(q)
			if first == nil {
				first = s
			} else if s != first {
				single = false
			}
		}
	}
	if first == nil {
		return
	}
	c.one.call = c
	if single {
		c.buf[0] = shardPart{first, &c.one}
		c.parts = c.buf[:1]
		return
	}
	for i := range c.batch {
		n.splitOne(c, int32(i))
	}
}

func (n *Node) splitOne(c *appendCall, i int32) {
	pub := &c.batch[i]
	for _, q := range pub.Queues {
		if !n.reg.exists(q) {
			c.outcomes[i].Err = n.notFound(q)
			return
		}
	}
	for _, q := range pub.Queues {
		p := c.partOf(n.shardOf(q))
		if k := len(p.idx); k == 0 || p.idx[k-1] != i {
			p.idx = append(p.idx, i)
		}
	}
}

func (c *appendCall) partOf(s *shard) *appendPart {
	for _, sp := range c.parts {
		if sp.s == s {
			return sp.p
		}
	}
	p := &appendPart{call: c}
	c.parts = append(c.parts, shardPart{s, p})
	return p
}

// result merges the parts into the outcomes.
func (c *appendCall) result() ([]storage.Outcome, error) {
	if c.err != nil {
		return nil, c.err
	}
	for _, sp := range c.parts {
		c.mergePart(sp.p)
	}
	return c.outcomes, nil
}

func (c *appendCall) mergePart(p *appendPart) {
	for _, r := range p.rejected {
		o := &c.outcomes[r.i]
		o.Rejected = append(o.Rejected, r.q)
	}
	for _, e := range p.errs {
		c.outcomes[e.i].Err = e.err
	}
}

// applyAppend stores a part's publishes in this shard's queues.
func (s *shard) applyAppend(p *appendPart) {
	s.curSync = false
	if p.idx == nil {
		for i := range p.call.batch {
			s.appendChecked(p, int32(i))
		}
	} else {
		for _, i := range p.idx {
			s.appendOwned(p, i)
		}
	}
	if s.curSync {
		s.syncWanted = true
		s.syncParts = append(s.syncParts, p)
	} else {
		s.parts = append(s.parts, p)
	}
}

// appendChecked appends a publish whose queues are all on this shard,
// refusing it whole if one is missing.
func (s *shard) appendChecked(p *appendPart, i int32) {
	pub := &p.call.batch[i]
	for _, q := range pub.Queues {
		if s.queues[q] == nil {
			p.errs = append(p.errs, publishErr{i, s.n.notFound(q)})
			return
		}
	}
	s.appendOwned(p, i)
}

// appendOwned appends a publish to those of its queues this shard owns. A
// queue deleted since the caller's check is skipped: the message went in
// just before the delete, as far as anyone can tell.
func (s *shard) appendOwned(p *appendPart, i int32) {
	pub := &p.call.batch[i]
	for _, q := range pub.Queues {
		if s.n.shardOf(q) != s {
			continue
		}
		qs := s.queues[q]
		if qs == nil {
			continue
		}
		s.touch(qs)
		if qs.q.Append(s.now, pub.Msg, &s.fx) {
			p.rejected = append(p.rejected, rejection{i, q})
			s.cnt.rejected++
		}
		s.cnt.appended++
		s.cnt.bytesIn += uint64(len(pub.Msg.Body))
	}
}
