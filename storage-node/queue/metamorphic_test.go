package queue

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// op is one step of a random history; the same list is replayed under
// every configuration.
type op struct {
	kind  string
	sess  SessionID
	tag   string
	n     int
	prio  uint8
	ttl   int64
	pers  bool
	how   storage.SettleKind
	noAck bool
}

func genOps(r *rand.Rand, n int) []op {
	ops := make([]op, 0, n)
	for range n {
		o := op{sess: SessionID(1 + r.IntN(3))}
		o.tag = fmt.Sprintf("c%d", r.IntN(2))
		switch p := r.IntN(100); {
		case p < 40:
			o.kind, o.n, o.prio, o.pers = "append", 1+r.IntN(5), uint8(r.IntN(4)), r.IntN(2) == 0
			if r.IntN(4) == 0 {
				o.ttl = int64(r.IntN(50))
			} else {
				o.ttl = -1
			}
		case p < 60:
			o.kind, o.n, o.how = "settle", r.IntN(40), storage.SettleKind(r.IntN(3))
		case p < 68:
			o.kind, o.n, o.noAck = "consume", r.IntN(6), r.IntN(5) == 0
		case p < 78:
			o.kind, o.n = "grant", 1+r.IntN(4)
		case p < 83:
			o.kind = "cancel"
		case p < 88:
			o.kind, o.noAck = "get", r.IntN(3) == 0
		case p < 93:
			o.kind, o.n = "tick", r.IntN(40)
		case p < 96:
			o.kind = "close"
		case p < 98:
			o.kind = "restart"
		default:
			o.kind = "purge"
		}
		ops = append(ops, o)
	}
	return ops
}

// runConfig is one way of running a history.
type runConfig struct {
	name   string
	cfg    Config
	over   bool  // the node budget is spent
	flaky  bool  // see runOps
	maxLen int64 // the queue's x-max-length (drop-head)
}

// runOps replays ops on a fresh durable priority queue and returns the log
// of everything observable: deliveries, gets, dead letters, events, and the
// final counters and durable records. With rc.flaky, every first Load at a
// lane and ID answers ErrNotReady, and each op ends with Resume until
// nothing waits, re-applying the parked gets there, as the node does once
// a fetch lands.
func runOps(t *testing.T, ops []op, rc runConfig) string {
	cfg := rc.cfg
	spec := storage.QueueSpec{ID: 1, VHost: "/", Name: "q", Durable: true, MessageTTL: -1, Expires: -1,
		MaxLength: rc.maxLen, MaxLengthBytes: -1, MaxPriority: 3, HasDLX: true}
	store := newMemStore()
	if rc.flaky {
		store.flaky = map[recKey]bool{}
	}
	var parked []op
	rec := &recorder{store: store, quiet: true}
	budget := &fakeBudget{over: rc.over}
	q := New(spec, cfg, store, budget, 0)
	var log strings.Builder
	var now int64
	for i, o := range ops {
		rec.delivers = rec.delivers[:0]
		switch o.kind {
		case "append":
			for j := range o.n {
				m := &storage.Message{Body: []byte(fmt.Sprintf("%d.%d", i, j)), Persistent: o.pers, Priority: o.prio, TTL: o.ttl}
				if q.Append(now, m, rec) {
					log.WriteString("rejected\n")
				}
			}
		case "settle":
			// settle the n-th in-flight message (by ID) as its holder
			if ids := inflightIDs(q); len(ids) > 0 {
				id := ids[o.n%len(ids)]
				q.Settle(now, q.inflight[id].sess, id, o.how, rec)
			}
		case "consume":
			c := &Consumer{Session: o.sess, Tag: o.tag, NoAck: o.noAck, Unlimited: o.n == 0, Credit: uint32(o.n)}
			if err := q.Consume(now, c, rec); err != nil {
				fmt.Fprintf(&log, "consume error %v\n", err)
			}
		case "grant":
			q.Grant(now, o.sess, o.tag, uint32(o.n), rec)
		case "cancel":
			q.Cancel(now, o.sess, o.tag, rec)
		case "get":
			if !logGet(&log, q, now, o, rec) {
				parked = append(parked, o)
			}
		case "tick":
			now += int64(o.n)
			q.Tick(now, rec)
		case "close":
			q.CloseSession(now, o.sess, rec)
		case "purge":
			fmt.Fprintf(&log, "purged %d\n", q.Purge(rec))
		case "restart":
			store.crash()
			q.Flush(rec)
			q = Recover(spec, *rec.meta, cfg, store, budget, now)
		}
		parked = resumeAll(&log, q, now, rec, parked)
		if len(q.drops) > 0 {
			t.Fatalf("op %d: resumed, and %d drops still wait", i, len(q.drops))
		}
		q.Flush(rec)
		if rec.meta != nil {
			q.Synced(rec.meta.DHW)
		}
		if msg := checkInvariants(q); msg != "" {
			t.Fatalf("op %d %+v: %s", i, o, msg)
		}
		if err := q.Err(); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		for _, d := range rec.delivers {
			fmt.Fprintf(&log, "%d %s\n", i, d)
		}
	}
	s := q.Stats()
	fmt.Fprintf(&log, "final ready=%d unacked=%d bytes=%d\n", s.Ready, s.Unacked, s.ReadyBytes)
	for k, e := range store.recs {
		if e.Stored == Durable {
			fmt.Fprintf(&log, "durable %d/%d\n", k.lane, k.id)
		}
	}
	return log.String()
}

// logGet applies a get and logs its answer; false when it must be parked.
func logGet(log *strings.Builder, q *Queue, now int64, o op, rec *recorder) bool {
	e, rem, _, ok, err := q.Get(now, o.sess, o.noAck, rec)
	if errors.Is(err, ErrNotReady) {
		return false
	}
	fmt.Fprintf(log, "get ok=%v id=%d rem=%d redelivered=%v\n", ok, e.ID, rem, e.Redelivered)
	return true
}

// resumeAll resumes q until no lane waits and no get is parked; it returns
// the parked gets left (none).
func resumeAll(log *strings.Builder, q *Queue, now int64, rec *recorder, parked []op) []op {
	for len(parked) > 0 || slices.ContainsFunc(q.lanes, func(l lane) bool { return l.waiting }) {
		q.Resume(now, rec, func() {
			for len(parked) > 0 && logGet(log, q, now, parked[0], rec) {
				parked = parked[1:]
			}
		})
	}
	return parked
}

// TestMetamorphic replays the same random histories (including restarts)
// with very different cache and read sizes: what consumers see must not
// depend on what was in memory or how it was read back.
func TestMetamorphic(t *testing.T) {
	compareRuns(t, []runConfig{
		{name: "big-cache", cfg: Config{DeliveredChunk: 1}},
		{name: "no-cache", cfg: Config{CacheBytes: 1, MinCacheBytes: 1, LoadCount: 1, DeliveredChunk: 1}},
		{name: "small-cache", cfg: Config{CacheBytes: 700, MinCacheBytes: 700, LoadCount: 3, DeliveredChunk: 1}},
		{name: "budget-spent", cfg: Config{MinCacheBytes: 400, LoadCount: 7, LoadBytes: 20, DeliveredChunk: 1}, over: true},
	}, 40, true)
}

// TestMetamorphicNotReady replays random histories with reads that are
// not ready at first, resumed after each op (a fetch landing before the
// next command): the log must be the one of a run that never waited, in
// the same order. Without a length limit: a drop-head that waits takes the
// heads as they are at Resume, which appends made meanwhile can change
// (see Resume).
func TestMetamorphicNotReady(t *testing.T) {
	compareRuns(t, []runConfig{
		{name: "never-waits", cfg: Config{DeliveredChunk: 1}},
		{name: "not-ready", cfg: Config{CacheBytes: 1, MinCacheBytes: 1, LoadCount: 2, DeliveredChunk: 1}, flaky: true},
		{name: "not-ready-cached", cfg: Config{CacheBytes: 700, MinCacheBytes: 700, LoadCount: 3, DeliveredChunk: 1}, flaky: true},
	}, -1, true)
}

// compareRuns runs 30 random histories under each config; the logs must
// equal the first config's. ttl false: the appends carry no TTL.
func compareRuns(t *testing.T, configs []runConfig, maxLen int64, ttl bool) {
	for seed := range uint64(30) {
		ops := genOps(rand.New(rand.NewPCG(seed, 7)), 600)
		for i := range ops {
			if !ttl {
				ops[i].ttl = -1
			}
		}
		var want string
		for i, c := range configs {
			c.maxLen = maxLen
			got := sortDurable(runOps(t, ops, c))
			if i == 0 {
				want = got
				if !strings.Contains(want, " c0 ") && !strings.Contains(want, " c1 ") {
					t.Fatalf("seed %d: history delivered nothing", seed)
				}
				continue
			}
			if got != want {
				t.Fatalf("seed %d: %s differs from %s:\n%s", seed, c.name, configs[0].name, firstDiff(want, got))
			}
		}
	}
}

func inflightIDs(q *Queue) []storage.MsgID {
	ids := make([]storage.MsgID, 0, len(q.inflight))
	for id := range q.inflight {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func sortDurable(s string) string {
	lines := strings.Split(s, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "durable ") })
	if i >= 0 {
		slices.Sort(lines[i:])
	}
	return strings.Join(lines, "\n")
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q\ncontext: %q", i, al[i], bl[i], al[lo:i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d", len(al), len(bl))
}

// TestMetamorphicNotReadyCapped is TestMetamorphicNotReady with a
// drop-head limit: drops of heads not readable yet are owed and carried
// out at Resume, so they drop, and dead-letter in order, what a run that
// never waited does. Without TTLs: a drop-head after an expiry sweep that
// waits for a head stops until Resume, which is not exact (see Resume).
func TestMetamorphicNotReadyCapped(t *testing.T) {
	compareRuns(t, []runConfig{
		{name: "never-waits", cfg: Config{DeliveredChunk: 1}},
		{name: "not-ready", cfg: Config{CacheBytes: 1, MinCacheBytes: 1, LoadCount: 2, DeliveredChunk: 1}, flaky: true},
		{name: "not-ready-cached", cfg: Config{CacheBytes: 700, MinCacheBytes: 700, LoadCount: 3, DeliveredChunk: 1}, flaky: true},
	}, 6, false)
}
