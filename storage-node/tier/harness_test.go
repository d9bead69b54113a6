package tier

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/segment"
)

// env is one script's world: a tier.Queue, and around it a model of what
// the node and the queue do (the disk part of each lane, Pebble's
// records, the object store, cold acks), with an uploader and a fetcher
// that build and read real segment objects.
type env struct {
	t      *Queue
	cfg    Config
	gen    uint64
	nextID storage.MsgID
	lanes  []fakeLane
	objs   map[ref][]byte // uploaded objects by lane, kind and First
	acks   map[ref]bool   // cold acks by lane, kind and ID
	job    *Upload        // picked, not committed
	picked map[uint64]Upload
	seg    pebblestore.Segment
	run    *Run // what the uploader read, nil before it ran
	obj    []byte
	putSeq uint64
	issued []Fetch // handed out, not yet answered
	out    *strings.Builder
}

// fakeLane is what the queue knows of a lane, and Pebble's records of it.
type fakeLane struct {
	pebble   [3]map[storage.MsgID]*storage.Message // by kind
	diskFrom storage.MsgID
	disk     [3]Span
	loaded   map[storage.MsgID]queue.Stored // left the disk part, not acked
}

func newEnv(lanes int, gen uint64, cfg Config) *env {
	e := &env{cfg: cfg, gen: gen, nextID: 1, objs: map[ref][]byte{}, acks: map[ref]bool{}, picked: map[uint64]Upload{}}
	e.lanes = make([]fakeLane, lanes)
	for i := range e.lanes {
		e.lanes[i] = newFakeLane()
	}
	e.t = New(7, lanes, gen, cfg)
	return e
}

func newFakeLane() fakeLane {
	l := fakeLane{loaded: map[storage.MsgID]queue.Stored{}}
	for k := range l.pebble {
		l.pebble[k] = map[storage.MsgID]*storage.Message{}
	}
	return l
}

func (l *fakeLane) diskN() int64 { return l.disk[queue.Durable].N + l.disk[queue.Spill].N }

// Source, as the node adapts queue.Queue.

func (e *env) Disk(li uint8) (storage.MsgID, Span, Span) {
	l := &e.lanes[li]
	return l.diskFrom, l.disk[queue.Durable], l.disk[queue.Spill]
}

func (e *env) NextID() storage.MsgID { return e.nextID }

func (e *env) Floor(li uint8) storage.MsgID {
	l := &e.lanes[li]
	f := e.nextID
	if l.diskN() > 0 {
		f = l.diskFrom
	}
	for id := range l.loaded {
		f = min(f, id)
	}
	return f
}

func (e *env) LiveIn(li uint8, from, to storage.MsgID) bool {
	l := &e.lanes[li]
	live := l.diskN() > 0 && to > l.diskFrom
	for id := range l.loaded {
		live = live || (id >= from && id < to)
	}
	fmt.Fprintf(e.out, "livein lane=%d [%d,%d) -> %v\n", li, from, to, live)
	return live
}

// append adds n messages of kind to the lane's disk part, as a queue
// with a backlog on disk does.
func (e *env) append(li uint8, k queue.Stored, n int, size int) {
	l := &e.lanes[li]
	first := e.nextID
	for range n {
		id := e.nextID
		e.nextID++
		l.pebble[k][id] = &storage.Message{Body: make([]byte, size), Persistent: k == queue.Durable, TTL: -1}
		if l.diskN() == 0 {
			l.diskFrom = id
		}
		l.disk[k] = l.disk[k].add(Span{1, int64(size)})
	}
	fmt.Fprintf(e.out, "appended %d..%d %v\n", first, e.nextID-1, k)
}

// dbLoad is pebblestore.DB.Load over the model.
func (e *env) dbLoad(li uint8, from, to storage.MsgID, kinds queue.StoredMask, maxCount int, maxBytes int64) []queue.Entry {
	var out []queue.Entry
	for _, k := range []queue.Stored{queue.Durable, queue.Spill} {
		if !kinds.Has(k) {
			continue
		}
		for id, m := range e.lanes[li].pebble[k] {
			if id >= from && id < to {
				out = append(out, queue.Entry{ID: id, Msg: m, Stored: k})
			}
		}
	}
	slices.SortFunc(out, func(a, b queue.Entry) int { return int(a.ID) - int(b.ID) })
	var read int64
	for i := range out {
		if i == maxCount || (read >= maxBytes && i > 0) {
			return out[:i]
		}
		read += out[i].Size()
	}
	return out
}

// errNotReady stands for queue.ErrNotReady.
var errNotReady = errors.New("not ready")

// load is the tieredLoader (TIERING.md §4) with the queue's side: the
// records it returns leave the disk part.
func (e *env) load(li uint8, maxCount int, maxBytes int64) ([]queue.Entry, error) {
	l := &e.lanes[li]
	if l.diskN() == 0 {
		return nil, nil
	}
	var kinds queue.StoredMask
	for _, k := range []queue.Stored{queue.Durable, queue.Spill} {
		if l.disk[k].N > 0 {
			kinds |= 1 << k
		}
	}
	got, err := e.tieredLoad(li, l.diskFrom, e.nextID, kinds, maxCount, maxBytes)
	if err != nil || len(got) == 0 {
		if err == nil { // the queue's repairDisk
			l.disk = [3]Span{}
		}
		return got, err
	}
	for _, en := range got {
		l.disk[en.Stored] = l.disk[en.Stored].sub(Span{1, en.Size()})
		l.loaded[en.ID] = en.Stored
	}
	l.diskFrom = got[len(got)-1].ID + 1
	return got, nil
}

func (e *env) tieredLoad(li uint8, from, to storage.MsgID, kinds queue.StoredMask, maxCount int, maxBytes int64) ([]queue.Entry, error) {
	for {
		avail, err := e.t.Avail(li, kinds, from)
		if err != nil {
			return nil, err
		}
		if avail <= from {
			return nil, errNotReady
		}
		end := min(to, avail)
		recs := e.dbLoad(li, from, end, kinds, maxCount, maxBytes)
		out := e.t.Merge(li, kinds, from, end, recs, maxCount, maxBytes, nil)
		if len(out) > 0 || end == to {
			return out, nil
		}
		fmt.Fprintf(e.out, "skip [%d,%d)\n", from, end)
		from = end
	}
}

// ack is effects.Delete of a loaded record.
func (e *env) ack(li uint8, id storage.MsgID) string {
	l := &e.lanes[li]
	k, ok := l.loaded[id]
	if !ok {
		return fmt.Sprintf("%d not loaded", id)
	}
	delete(l.loaded, id)
	if e.t.Delete(li, k, id) {
		e.acks[ref{li, k, id}] = true
		return fmt.Sprintf("%d cold", id)
	}
	delete(l.pebble[k], id)
	return fmt.Sprintf("%d hot", id)
}

// purge is Queue.Purge's DeleteRange over the lane's disk part, with
// the node's cold acks for the purged part of a segment the lane reads,
// and its dead check in the same iteration.
func (e *env) purge(li uint8) {
	l := &e.lanes[li]
	if l.diskN() == 0 {
		return
	}
	for k := range l.pebble {
		maps.DeleteFunc(l.pebble[k], func(id storage.MsgID, _ *storage.Message) bool { return id >= l.diskFrom })
	}
	fmt.Fprintf(e.out, "purged lane %d [%d,%d)\n", li, l.diskFrom, e.nextID)
	for _, r := range e.t.DeleteRange(li, l.diskFrom, e.nextID, nil) {
		fmt.Fprintf(e.out, "cold acks for %v [%d,%d] in [%d,%d)\n", r.Seg.Kind, r.Seg.First, r.Seg.Last, r.From, r.To)
		recs, _ := must2(segment.Decode(e.objs[ref{li, r.Seg.Kind, r.Seg.First}]))
		for _, rec := range recs {
			if rec.ID >= r.From && rec.ID < r.To {
				e.acks[ref{li, r.Seg.Kind, rec.ID}] = true
			}
		}
	}
	l.disk = [3]Span{}
	e.out.WriteString(e.dead())
}
