package queue

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/warrenmq/warren/api/storage"
)

// memStore is a Store over a sorted in-memory map, standing in for Pebble.
type memStore struct {
	recs  map[recKey]Entry
	loads int
	trace *strings.Builder // nil: silent
	// notReady lanes answer ErrNotReady, as a lane whose next records are
	// in a segment not fetched yet.
	notReady map[uint8]bool
	// flaky, when set, makes the first Load at each lane and ID answer
	// ErrNotReady (the fetch is then done).
	flaky map[recKey]bool
}

type recKey struct {
	lane uint8
	id   storage.MsgID
}

func newMemStore() *memStore {
	return &memStore{recs: map[recKey]Entry{}, notReady: map[uint8]bool{}}
}

func (s *memStore) Load(_ storage.QueueID, lane uint8, from, to storage.MsgID, kinds StoredMask,
	maxCount int, maxBytes int64, dst []Entry) ([]Entry, error) {
	s.loads++
	if k := (recKey{lane, from}); s.flaky != nil && !s.flaky[k] {
		s.flaky[k] = true
		return dst, ErrNotReady
	}
	if s.notReady[lane] {
		if s.trace != nil {
			fmt.Fprintf(s.trace, "load lane=%d from=%d -> not ready\n", lane, from)
		}
		return dst, ErrNotReady
	}
	var keys []recKey
	for k, e := range s.recs {
		if k.lane == lane && k.id >= from && k.id < to && kinds.Has(e.Stored) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].id < keys[j].id })
	var bytes int64
	for _, k := range keys {
		if len(dst) >= maxCount || (bytes >= maxBytes && len(dst) > 0) {
			break
		}
		e := s.recs[k]
		e.Redelivered = false
		dst = append(dst, e)
		bytes += e.Size()
	}
	if s.trace != nil {
		fmt.Fprintf(s.trace, "load lane=%d from=%d -> %d\n", lane, from, len(dst))
	}
	return dst, nil
}

// crash drops what a restart drops: spilled records.
func (s *memStore) crash() {
	for k, e := range s.recs {
		if e.Stored == Spill {
			delete(s.recs, k)
		}
	}
}

func (s *memStore) dump() string {
	keys := make([]recKey, 0, len(s.recs))
	for k := range s.recs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b recKey) int {
		if a.lane != b.lane {
			return int(a.lane) - int(b.lane)
		}
		return int(a.id) - int(b.id)
	})
	var b strings.Builder
	for _, k := range keys {
		e := s.recs[k]
		fmt.Fprintf(&b, "lane=%d id=%d %s %s\n", k.lane, k.id, e.Stored, e.Msg.Body)
	}
	if b.Len() == 0 {
		return "empty"
	}
	return b.String()
}

// recorder is the Effects of the tests: it applies writes to a memStore
// and prints every effect.
type recorder struct {
	store    *memStore
	out      strings.Builder
	meta     *Meta
	gated    bool
	quiet    bool
	delivers []string // "tag id" of every delivery, for metamorphic tests
}

func (r *recorder) printf(format string, args ...any) {
	if !r.quiet {
		fmt.Fprintf(&r.out, format+"\n", args...)
	}
}

func (r *recorder) Store(_ storage.QueueID, lane uint8, e Entry) {
	r.store.recs[recKey{lane, e.ID}] = e
	r.printf("store lane=%d id=%d %s", lane, e.ID, e.Stored)
}

func (r *recorder) Delete(_ storage.QueueID, lane uint8, id storage.MsgID, kind Stored) {
	k := recKey{lane, id}
	if e, ok := r.store.recs[k]; !ok || e.Stored != kind {
		panic(fmt.Sprintf("delete of missing record lane=%d id=%d %s", lane, id, kind))
	}
	delete(r.store.recs, k)
	r.printf("delete lane=%d id=%d %s", lane, id, kind)
}

func (r *recorder) DeleteRange(_ storage.QueueID, lane uint8, from, to storage.MsgID) {
	for k := range r.store.recs {
		if k.lane == lane && k.id >= from && k.id < to {
			delete(r.store.recs, k)
		}
	}
	r.printf("delete-range lane=%d ids=[%d,%d)", lane, from, to)
}

func (r *recorder) DeleteQueue(storage.QueueID) {
	clear(r.store.recs)
	r.meta = nil
	r.printf("delete-queue")
}

func (r *recorder) SaveMeta(_ storage.QueueID, m *Meta) {
	c := *m
	c.Lanes = slices.Clone(m.Lanes)
	r.meta = &c
}

func (r *recorder) DeadLetter(q *Queue, e Entry, reason Reason) {
	r.delivers = append(r.delivers, fmt.Sprintf("deadletter %d %s %s", e.ID, reason, e.Msg.Body))
	r.printf("deadletter id=%d reason=%s body=%s", e.ID, reason, e.Msg.Body)
}

func (r *recorder) Deliver(c *Consumer, e Entry, gated bool) {
	flags := ""
	if e.Redelivered {
		flags += " redelivered"
	}
	if gated {
		flags += " gated"
		r.gated = true
	}
	r.delivers = append(r.delivers, fmt.Sprintf("%s %d %s%s", c.Tag, e.ID, e.Msg.Body, flags))
	r.printf("deliver %d/%s id=%d body=%s%s", c.Session, c.Tag, e.ID, e.Msg.Body, flags)
}

func (r *recorder) Cancelled(c *Consumer) { r.printf("cancelled %d/%s", c.Session, c.Tag) }

func (r *recorder) Unused(_ storage.QueueID, reason string) { r.printf("unused %s", reason) }

func fmtMeta(m *Meta) string {
	if m == nil {
		return "no meta"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "next=%d dhw=%d", m.NextID, m.DHW)
	for _, l := range m.Lanes {
		fmt.Fprintf(&b, " lane%d:floor=%d,n=%d,bytes=%d", l.Lane, l.Floor, l.Count, l.Bytes)
	}
	return b.String()
}
