package queue

import (
	"fmt"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/internal/script"
)

// fakeBudget is a Budget the scripts can switch over.
type fakeBudget struct {
	over    bool
	charged int64
}

func (b *fakeBudget) Over() bool { return b.over }

func (b *fakeBudget) Charge(delta int64) {
	b.charged += delta
	if b.charged < 0 {
		panic("budget charged below zero")
	}
}

// env is one script file's state.
type env struct {
	q      *Queue
	spec   storage.QueueSpec
	cfg    Config
	store  *memStore
	rec    *recorder
	budget fakeBudget
	now    int64
	seq    int
	cons   map[string]*Consumer
}

func TestScripts(t *testing.T) {
	envs := map[string]*env{}
	script.Run(t, "testdata/*.txt", func(t *testing.T, c *script.Cmd) string {
		file := c.Pos[:strings.LastIndexByte(c.Pos, ':')]
		e := envs[file]
		if e == nil {
			e = &env{now: 1000}
			envs[file] = e
		}
		return e.run(t, c)
	})
}

func (e *env) run(t *testing.T, c *script.Cmd) string {
	if c.Name != "new" && e.q == nil {
		t.Fatalf("%s: no queue: start with new", c.Pos)
	}
	if e.rec != nil {
		e.rec.out.Reset()
		e.store.trace = &e.rec.out
	}
	res := e.exec(t, c)
	if e.q != nil {
		if msg := checkInvariants(e.q); msg != "" {
			t.Fatalf("%s: invariant broken after %q: %s", c.Pos, c.Line, msg)
		}
	}
	if e.q != nil && !e.q.deleted {
		e.q.Flush(e.rec)
		if e.rec.meta != nil {
			e.q.Synced(e.rec.meta.DHW) // the harness syncs at once
		}
		if err := e.q.Err(); err != nil {
			res += "queue error: " + err.Error() + "\n"
		}
	}
	return e.rec.out.String() + res
}

func (e *env) exec(t *testing.T, c *script.Cmd) string {
	switch c.Name {
	case "new":
		e.newQueue(t, c)
	case "advance":
		e.now += c.Int(t, "ms", 0)
		return fmt.Sprintf("now=%d\n", e.now)
	case "append":
		return e.append(t, c)
	case "consume":
		return e.consume(t, c)
	case "cancel":
		return fmt.Sprintf("ok=%v\n", e.q.Cancel(e.now, sess(t, c), c.Str("tag", ""), e.rec))
	case "grant":
		e.q.Grant(e.now, sess(t, c), c.Str("tag", ""), uint32(c.Int(t, "n", 1)), e.rec)
	case "get":
		return e.get(t, c)
	case "ack", "requeue", "reject":
		return e.settle(t, c)
	case "close":
		e.q.CloseSession(e.now, sess(t, c), e.rec)
	case "purge":
		return fmt.Sprintf("purged=%d\n", e.q.Purge(e.rec))
	case "delete":
		return fmt.Sprintf("deleted=%d\n", e.q.Delete(e.rec))
	case "tick":
		e.q.Tick(e.now, e.rec)
	case "touch":
		e.q.Touch(e.now)
	case "deadline":
		return fmt.Sprintf("deadline=%d\n", e.q.Deadline())
	case "budget":
		e.budget.over = c.Has("over")
	case "policy":
		e.q.SetEffective(e.now, e.effective(t, c), e.rec)
	default:
		return e.inspect(t, c)
	}
	return ""
}

func (e *env) inspect(t *testing.T, c *script.Cmd) string {
	switch c.Name {
	case "stats":
		s := e.q.Stats()
		return fmt.Sprintf("ready=%d unacked=%d consumers=%d bytes=%d mem=%d\n",
			s.Ready, s.Unacked, s.Consumers, s.ReadyBytes, e.q.MemCost())
	case "counts":
		n := e.q.Stats().Counts
		return fmt.Sprintf("publish=%d deliver=%d deliver-noack=%d get=%d get-noack=%d get-empty=%d redeliver=%d ack=%d\n",
			n.Publish, n.Deliver, n.DeliverNoAck, n.Get, n.GetNoAck, n.GetEmpty, n.Redeliver, n.Ack)
	case "meta":
		return fmtMeta(e.rec.meta) + "\n"
	case "records":
		return e.store.dump()
	case "restart":
		return e.restart()
	}
	return e.waiting(t, c)
}

// waiting runs the commands about reads that are not ready yet and the
// lane views the node's tiering uses.
func (e *env) waiting(t *testing.T, c *script.Cmd) string {
	lane := uint8(c.Int(t, "lane", 0))
	switch c.Name {
	case "not-ready": // the store answers ErrNotReady for the lane
		e.store.notReady[lane] = true
	case "ready": // the store reads the lane again; the queue is not told
		delete(e.store.notReady, lane)
	case "resume": // gets=n re-applies n parked gets of session s
		e.q.Resume(e.now, e.rec, func() {
			for range c.Int(t, "gets", 0) {
				e.rec.out.WriteString(e.get(t, c))
			}
		})
	case "disk":
		from, d, s := e.q.Disk(lane)
		return fmt.Sprintf("from=%d durable=%d/%d spill=%d/%d\n", from, d.N, d.Bytes, s.N, s.Bytes)
	case "floor":
		return fmt.Sprintf("floor=%d\n", e.q.Floor(lane))
	case "live":
		from, to := storage.MsgID(c.Int(t, "from", 0)), storage.MsgID(c.Int(t, "to", 0))
		return fmt.Sprintf("live=%v\n", e.q.LiveIn(lane, from, to))
	default:
		t.Fatalf("%s: unknown command %q", c.Pos, c.Name)
	}
	return ""
}

func (e *env) newQueue(t *testing.T, c *script.Cmd) {
	e.spec = storage.QueueSpec{
		ID: 1, VHost: "/", Name: "q",
		Durable:              c.Has("durable"),
		AutoDelete:           c.Has("auto-delete"),
		MessageTTL:           c.Int(t, "ttl", -1),
		Expires:              c.Int(t, "expires", -1),
		MaxLength:            c.Int(t, "max-len", -1),
		MaxLengthBytes:       c.Int(t, "max-bytes", -1),
		MaxPriority:          uint8(c.Int(t, "max-priority", 0)),
		HasDLX:               c.Has("dlx"),
		SingleActiveConsumer: c.Has("sac"),
	}
	switch c.Str("overflow", "drop-head") {
	case "reject-publish":
		e.spec.Overflow = storage.RejectPublish
	case "reject-publish-dlx":
		e.spec.Overflow = storage.RejectPublishDLX
	}
	e.cfg = Config{
		CacheBytes:     c.Int(t, "cache", 0),
		MinCacheBytes:  c.Int(t, "min-cache", 0),
		LoadCount:      int(c.Int(t, "load", 0)),
		DeliveredChunk: uint64(c.Int(t, "chunk", 0)),
	}
	e.store = newMemStore()
	e.rec = &recorder{store: e.store}
	e.store.trace = &e.rec.out
	e.cons = map[string]*Consumer{}
	e.q = New(e.spec, e.cfg, e.store, &e.budget, e.now)
}

func (e *env) append(t *testing.T, c *script.Cmd) string {
	var out strings.Builder
	for range c.Int(t, "n", 1) {
		e.seq++
		body := fmt.Sprintf("m%d", e.seq)
		if size := int(c.Int(t, "size", 0)); size > len(body) {
			body += strings.Repeat(".", size-len(body))
		}
		m := &storage.Message{
			Exchange: "ex", RoutingKey: "rk", Body: []byte(body),
			Persistent: c.Has("persistent"),
			Priority:   uint8(c.Int(t, "prio", 0)),
			TTL:        c.Int(t, "ttl", -1),
		}
		if e.q.Append(e.now, m, e.rec) {
			fmt.Fprintf(&out, "rejected %s\n", body)
		}
	}
	return out.String()
}

func sess(t *testing.T, c *script.Cmd) SessionID { return SessionID(c.Int(t, "s", 1)) }

func (e *env) consume(t *testing.T, c *script.Cmd) string {
	credit := c.Int(t, "credit", 0)
	cons := &Consumer{
		Session: sess(t, c), Tag: c.Str("tag", "c"), NoAck: c.Has("noack"),
		Exclusive: c.Has("exclusive"), Priority: int32(c.Int(t, "prio", 0)),
		Unlimited: credit == 0, Credit: uint32(credit),
	}
	if err := e.q.Consume(e.now, cons, e.rec); err != nil {
		return "error: " + err.Error() + "\n"
	}
	return ""
}

func (e *env) get(t *testing.T, c *script.Cmd) string {
	en, remaining, gated, ok, err := e.q.Get(e.now, sess(t, c), c.Has("noack"), e.rec)
	switch {
	case err != nil:
		return "error: " + err.Error() + "\n"
	case !ok:
		return "empty\n"
	}
	return fmt.Sprintf("got id=%d body=%s redelivered=%v gated=%v remaining=%d\n",
		en.ID, en.Msg.Body, en.Redelivered, gated, remaining)
}

func (e *env) settle(t *testing.T, c *script.Cmd) string {
	kind := map[string]storage.SettleKind{"ack": storage.Ack, "requeue": storage.Requeue, "reject": storage.Reject}[c.Name]
	var out strings.Builder
	for _, id := range c.Ints(t, "ids") {
		if !e.q.Settle(e.now, sess(t, c), storage.MsgID(id), kind, e.rec) {
			fmt.Fprintf(&out, "ignored id=%d\n", id)
		}
	}
	return out.String()
}

// restart rebuilds the queue from the last saved meta and the records a
// restart keeps, as the node does after a crash or a clean stop.
func (e *env) restart() string {
	e.store.crash()
	if !e.spec.Durable || e.rec.meta == nil {
		e.q = New(e.spec, e.cfg, e.store, &e.budget, e.now)
		return "fresh queue\n"
	}
	e.q = Recover(e.spec, *e.rec.meta, e.cfg, e.store, &e.budget, e.now)
	return fmtMeta(e.rec.meta) + "\n"
}
