package tier

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// truth is what a queue without tiering holds: per record, its lane,
// kind, and whether it is ready on disk, loaded, or gone.
type truth struct {
	recs map[storage.MsgID]*truthRec
}

type truthRec struct {
	lane   uint8
	kind   queue.Stored
	loaded bool
}

// ready is the lane's disk part, ascending.
func (tr *truth) ready(li uint8) []storage.MsgID {
	var ids []storage.MsgID
	for id, r := range tr.recs {
		if r.lane == li && !r.loaded {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestRandomOps runs random histories of appends, loads, acks, uploads,
// fetch results in any order, purges, dead checks and restarts against
// the harness, and checks the tier against a model of the queue without
// tiering: every Load returns the lane's next records in order, an ack
// is cold exactly when the record left Pebble, no acked record comes back
// after a restart, a lane that waits always has a read in flight, and
// without restarts the hot estimate is exact.
var seeds = flag.Uint64("seeds", 300, "histories TestRandomOps runs")

func TestRandomOps(t *testing.T) {
	for seed := range *seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandom(t, seed) })
	}
}

type randomRun struct {
	t         *testing.T
	rng       *rand.Rand
	e         *env
	tr        truth
	restarted bool
	step      int
	log       []string // the trace of the last steps, for a failure
}

func (r *randomRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("step %d: %s\ntrace:\n%s", r.step, fmt.Sprintf(format, args...), strings.Join(r.log, ""))
}

func runRandom(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := Config{QueueHotBytes: rng.Int64N(600) + 1, SegmentBytes: rng.Int64N(500) + 1, MinSegmentBytes: 1,
		QueueReadAheadBytes: rng.Int64N(800) + 1, FetchBytes: rng.Int64N(400) + 1}
	r := &randomRun{t: t, rng: rng, e: newEnv(rng.IntN(3)+1, 1, cfg), tr: truth{recs: map[storage.MsgID]*truthRec{}}}
	r.e.out = &strings.Builder{}
	for r.step = range 400 {
		r.op()
		r.log = append(r.log, r.e.out.String())
		r.e.out.Reset()
		if msg := checkInvariants(r.e.t); msg != "" {
			r.fatalf("%s", msg)
		}
	}
	r.drain()
}

func (r *randomRun) op() {
	e, li := r.e, uint8(r.rng.IntN(len(r.e.lanes)))
	switch n := r.rng.IntN(100); {
	case n < 20:
		r.append(li)
	case n < 40:
		r.load(li)
	case n < 55:
		r.ack(li)
	case n < 70:
		r.upload()
	case n < 90:
		if len(e.issued) > 0 {
			e.fetched(e.issued[r.rng.IntN(len(e.issued))].Seq, nil)
		}
	case n < 93:
		r.purge(li)
	case n < 97:
		e.out.WriteString(e.dead())
	case n < 98:
		r.restart()
		e.out.WriteString("restart\n")
	default:
		r.checkHot()
	}
}

func (r *randomRun) append(li uint8) {
	k := queue.Durable
	if r.rng.IntN(3) == 0 {
		k = queue.Spill
	}
	n := r.rng.IntN(5) + 1
	first := r.e.nextID
	r.e.append(li, k, n, r.rng.IntN(200))
	for id := first; id < r.e.nextID; id++ {
		r.tr.recs[id] = &truthRec{lane: li, kind: k}
	}
}

// load checks a Load against the model: the lane's next ready records.
func (r *randomRun) load(li uint8) {
	want := r.tr.ready(li)
	got, err := r.e.load(li, r.rng.IntN(5)+1, r.rng.Int64N(500)+1)
	fmt.Fprintf(r.e.out, "load lane=%d: %v %v\n", li, ids(got), err)
	r.e.fetches(li)
	if err == errNotReady {
		r.checkWaiting(li)
		return
	}
	if err != nil {
		r.fatalf("load: %v", err)
	}
	if len(got) == 0 && len(want) > 0 {
		r.fatalf("lane %d: load found nothing, %d ready from %d", li, len(want), want[0])
	}
	for i, en := range got {
		if i >= len(want) || en.ID != want[i] || en.Stored != r.tr.recs[en.ID].kind {
			r.fatalf("lane %d: load returned %v, want the first of %v", li, ids(got), want)
		}
		r.tr.recs[en.ID].loaded = true
	}
}

// checkWaiting: a lane that waits must have a read in flight, or it would
// wait forever.
func (r *randomRun) checkWaiting(li uint8) {
	for _, f := range r.e.issued {
		if f.Seg.Lane == li {
			return
		}
	}
	r.fatalf("lane %d waits with no read in flight", li)
}

// ack checks Delete's answer: cold exactly when the record left Pebble.
func (r *randomRun) ack(li uint8) {
	var loaded []storage.MsgID
	for id, tr := range r.tr.recs {
		if tr.lane == li && tr.loaded {
			loaded = append(loaded, id)
		}
	}
	if len(loaded) == 0 {
		return
	}
	slices.Sort(loaded)
	id := loaded[r.rng.IntN(len(loaded))]
	k := r.tr.recs[id].kind
	_, inPebble := r.e.lanes[li].pebble[k][id]
	res := r.e.ack(li, id)
	fmt.Fprintf(r.e.out, "ack lane=%d %s\n", li, res)
	if cold := strings.HasSuffix(res, "cold"); cold == inPebble {
		r.fatalf("ack %d: %s, in Pebble %v", id, res, inPebble)
	}
	delete(r.tr.recs, id)
}

// upload moves the upload along one step: pick, read and put, commit.
func (r *randomRun) upload() {
	e := r.e
	switch {
	case e.job == nil:
		e.out.WriteString(e.pick(r.rng.IntN(2) == 0))
	case e.run == nil:
		e.out.WriteString(e.upload() + "\n")
	case r.rng.IntN(8) == 0:
		e.t.Cancel(*e.job)
		e.job, e.run = nil, nil
		e.out.WriteString("cancel\n")
	default:
		e.out.WriteString(e.commit(nil, false) + "\n")
	}
}

func (r *randomRun) purge(li uint8) {
	r.e.purge(li)
	for id, tr := range r.tr.recs {
		if tr.lane == li && !tr.loaded {
			delete(r.tr.recs, id)
		}
	}
}

// restart: transient records go, the others are all ready again.
func (r *randomRun) restart() {
	r.e.restart()
	for id, tr := range r.tr.recs {
		if tr.kind == queue.Spill {
			delete(r.tr.recs, id)
		}
		tr.loaded = false
	}
	r.restarted = true
}

// checkHot: without a restart the estimates are exact, so the hot
// records are the ready ones still in Pebble.
func (r *randomRun) checkHot() {
	r.e.t.Account(r.e)
	if r.restarted {
		return
	}
	var want Span
	for id, tr := range r.tr.recs {
		if m, ok := r.e.lanes[tr.lane].pebble[tr.kind][id]; ok && !tr.loaded {
			want = want.add(Span{1, int64(len(m.Body))})
		}
	}
	if got := r.e.t.Hot(); got != want {
		r.fatalf("hot %v, want %v", got, want)
	}
}

// drain answers every read and loads every lane to the end.
func (r *randomRun) drain() {
	r.checkHot()
	for li := range r.e.lanes {
		for range 10000 {
			for len(r.e.issued) > 0 {
				r.e.fetched(r.e.issued[0].Seq, nil)
			}
			if len(r.tr.ready(uint8(li))) == 0 {
				break
			}
			r.load(uint8(li))
		}
		if n := len(r.tr.ready(uint8(li))); n > 0 {
			r.fatalf("lane %d: %d records never loaded", li, n)
		}
	}
}

func ids(es []queue.Entry) []storage.MsgID {
	out := make([]storage.MsgID, len(es))
	for i := range es {
		out[i] = es[i].ID
	}
	return out
}
