package node

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/segment"
	"github.com/warrenmq/warren/storage-node/tier"
)

// fetchPool runs cfg.Fetchers goroutines that read segment objects: an
// index, or a block of records (TIERING.md §4). Reads wait in one FIFO
// while the node's read-ahead is spent, so memory stays bounded by
// ReadAheadBytes (a read bigger than the whole budget runs when nothing
// else is held).
//
// Read-ahead that a lane holds while its consumers take nothing may fill
// the budget for good, so a lane that waits for its next record must not
// queue behind it: the shard promotes the oldest waiting read of such a
// lane (promote), and an urgent read starts whatever the budget says. One
// read per waiting lane is urgent at a time, so memory stays within the
// budget plus about a block per waiting lane.
type fetchPool struct {
	t  *tiering
	mu struct {
		sync.Mutex
		fifo    []fetchReq
		waiting int64 // bytes of the reads in fifo
		closed  bool
	}
	cond *sync.Cond // on mu: fifo, waiting, closed or readAhead changed
}

type fetchReq struct {
	q      storage.QueueID
	f      tier.Fetch
	urgent bool // its lane waits for it: it starts over the budget
}

func newFetchPool(t *tiering) *fetchPool {
	p := &fetchPool{t: t}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// push queues reads, in order.
func (p *fetchPool) push(reqs []fetchReq) {
	p.mu.Lock()
	for _, r := range reqs {
		p.mu.fifo = append(p.mu.fifo, r)
		p.mu.waiting += r.f.Bytes
	}
	p.mu.Unlock()
	p.cond.Broadcast()
}

// released wakes the pool after read-ahead went down. Broadcasting under
// the lock orders the wake-up after a worker's check of the budget, so
// none misses it.
func (p *fetchPool) released() {
	p.mu.Lock()
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *fetchPool) close() {
	p.mu.Lock()
	p.mu.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
}

// promote makes the oldest read of queue q's lane in the FIFO urgent,
// unless one of the lane's is already.
func (p *fetchPool) promote(q storage.QueueID, lane uint8) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.mu.fifo, func(r fetchReq) bool { return r.q == q && r.f.Seg.Lane == lane })
	if i < 0 || slices.ContainsFunc(p.mu.fifo[i:], func(r fetchReq) bool { return r.urgent && r.q == q && r.f.Seg.Lane == lane }) {
		return
	}
	p.mu.fifo[i].urgent = true
	p.cond.Broadcast()
}

// next waits for the head of the FIFO to fit in the read-ahead budget, or
// for an urgent read.
func (p *fetchPool) next() (fetchReq, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.mu.closed {
			return fetchReq{}, false
		}
		if i := p.startable(); i >= 0 {
			r := p.mu.fifo[i]
			p.mu.fifo = slices.Delete(p.mu.fifo, i, i+1)
			p.mu.waiting -= r.f.Bytes
			return r, true
		}
		p.cond.Wait()
	}
}

// startable is the position of the read to start now, -1 for none: the
// head when it fits, else the first urgent read.
func (p *fetchPool) startable() int {
	if len(p.mu.fifo) > 0 && p.fits(p.mu.fifo[0].f.Bytes) {
		return 0
	}
	return slices.IndexFunc(p.mu.fifo, func(r fetchReq) bool { return r.urgent })
}

// fits: what the node holds (charged read-ahead not waiting here)
// leaves room for n bytes, or holds nothing.
func (p *fetchPool) fits(n int64) bool {
	held := p.t.readAhead.Load() - p.mu.waiting
	return held <= 0 || held+n <= p.t.cfg.ReadAheadBytes
}

func (p *fetchPool) run() {
	t := p.t
	defer t.wg.Done()
	for {
		r, ok := p.next()
		if !ok {
			return
		}
		res, ok := t.fetchRetrying(r)
		if !ok {
			return // stopping
		}
		t.n.shardOf(r.q).post(func(s *shard) { s.fetched(r.q, res) })
	}
}

// fetchRetrying reads until the read succeeds or fails for good (a corrupt
// segment, a missing object); other errors are retried with backoff and
// the lane keeps waiting. It reports false when the node stops.
func (t *tiering) fetchRetrying(r fetchReq) (tier.FetchResult, bool) {
	var res tier.FetchResult
	done := retryTier(t.ctx, func() (bool, error) {
		var err error
		res, err = t.read(r)
		if err == nil || errors.Is(err, segment.ErrCorrupt) || errors.Is(err, objstore.ErrNotFound) ||
			errors.Is(err, pebblestore.ErrCorrupt) {
			res.Err = err
			return true, nil
		}
		return false, err
	}, func(err error, _ time.Duration) {
		t.n.opts.Logger.Warn("tier: read failed, retrying", "queue", r.q, "err", err)
	})
	return res, done
}

// read does one read: the index and trailer with one ranged read, or a
// block of records without those that have a cold ack.
func (t *tiering) read(r fetchReq) (tier.FetchResult, error) {
	f := r.f
	res := tier.FetchResult{Fetch: f}
	key := f.Seg.ObjectKey(t.nid)
	if f.Index == nil {
		ix, err := t.readIndex(key, &f.Seg)
		res.Index = ix
		return res, err
	}
	off, n := f.Index.Range(f.I, f.J)
	buf, err := t.store.GetRange(t.ctx, key, off, n)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", key, err)
	}
	recs, err := f.Index.Records(buf, f.I, f.J)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", key, err)
	}
	acked, err := t.coldAcks(&f.Seg, f.Index.ID(f.I), f.Index.ID(f.J-1)+1)
	if err != nil {
		return res, err
	}
	res.Entries = make([]queue.Entry, 0, len(recs))
	for i := range recs {
		if !acked.has(recs[i].ID) {
			res.Entries = append(res.Entries, queue.Entry{ID: recs[i].ID, Msg: copyMessage(recs[i].Msg),
				Expiry: recs[i].Expiry, Stored: f.Seg.Kind})
		}
	}
	return res, nil
}

// readIndex reads index and trailer, checked against the table entry.
func (t *tiering) readIndex(key string, sg *pebblestore.Segment) (*segment.Index, error) {
	tail, err := t.store.GetRange(t.ctx, key, sg.IndexOff, -1)
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", key, err)
	}
	tr, err := segment.ReadTrailer(tail)
	if err == nil && (tr.ObjectSize() != sg.ObjSize || tr.TailSize() > int64(len(tail))) {
		err = fmt.Errorf("object of %d bytes, table says %d: %w", tr.ObjectSize(), sg.ObjSize, segment.ErrCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", key, err)
	}
	ix, err := segment.ReadIndex(tail, tr)
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", key, err)
	}
	return ix, nil
}

// ackSet is the cold acks over a block: single IDs and ranges, ascending.
type ackSet struct {
	ids    []storage.MsgID
	ranges []pebblestore.IDRange
}

func (a *ackSet) has(id storage.MsgID) bool {
	if _, ok := slices.BinarySearch(a.ids, id); ok {
		return true
	}
	for _, r := range a.ranges {
		if id >= r.From && id < r.To {
			return true
		}
	}
	return false
}

// coldAcks reads the cold acks of the segment's lane and kind in [from, to).
func (t *tiering) coldAcks(sg *pebblestore.Segment, from, to storage.MsgID) (ackSet, error) {
	var a ackSet
	var err error
	a.ids, err = t.n.db.ColdAcks(sg.Queue, sg.Lane, sg.Kind, from, to, nil)
	if err != nil {
		return a, err
	}
	a.ranges, err = t.n.db.ColdAckRanges(sg.Queue, sg.Lane, sg.Kind, from, to, nil)
	return a, err
}

// copyMessage copies m into one allocation of its own: the records of a
// block alias the block's buffer, and one unacked message must not pin it.
func copyMessage(m *storage.Message) *storage.Message {
	c := *m
	buf := make([]byte, 0, len(m.Exchange)+len(m.RoutingKey)+len(m.Properties)+len(m.Body))
	buf = append(buf, m.Exchange...)
	buf = append(buf, m.RoutingKey...)
	buf = append(buf, m.Properties...)
	buf = append(buf, m.Body...)
	x, k, p := len(m.Exchange), len(m.RoutingKey), len(m.Properties)
	c.Exchange = aliasString(buf[:x])
	c.RoutingKey = aliasString(buf[x : x+k])
	c.Properties = buf[x+k : x+k+p : x+k+p]
	c.Body = buf[x+k+p:]
	if m.Properties == nil {
		c.Properties = nil
	}
	if m.Body == nil {
		c.Body = nil
	}
	return &c
}

// aliasString is b as a string without a copy; b is never modified.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
