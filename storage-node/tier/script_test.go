package tier

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/internal/script"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
)

func TestScripts(t *testing.T) {
	envs := map[string]*env{}
	script.Run(t, "testdata/*.txt", func(t *testing.T, c *script.Cmd) string {
		file := c.Pos[:strings.LastIndexByte(c.Pos, ':')]
		if c.Name == "new" {
			envs[file] = newEnv(int(c.Int(t, "lanes", 1)), uint64(c.Int(t, "gen", 1)), configOf(t, c))
		}
		e := envs[file]
		if e == nil {
			t.Fatalf("%s: start with new", c.Pos)
		}
		var out strings.Builder
		e.out = &out
		res := e.exec(t, c)
		if msg := checkInvariants(e.t); msg != "" {
			t.Fatalf("%s: invariant broken after %q: %s", c.Pos, c.Line, msg)
		}
		return out.String() + res
	})
}

func configOf(t *testing.T, c *script.Cmd) Config {
	return Config{
		QueueHotBytes:       c.Int(t, "queue-hot", 0),
		SegmentBytes:        c.Int(t, "segment", 0),
		MinSegmentBytes:     c.Int(t, "min-segment", 0),
		QueueReadAheadBytes: c.Int(t, "read-ahead", 0),
		FetchBytes:          c.Int(t, "fetch", 0),
	}
}

func kindArg(t *testing.T, c *script.Cmd) queue.Stored {
	switch c.Str("kind", "durable") {
	case "durable":
		return queue.Durable
	case "spill":
		return queue.Spill
	}
	t.Fatalf("%s: kind is durable or spill", c.Pos)
	return 0
}

func laneArg(t *testing.T, c *script.Cmd) uint8 { return uint8(c.Int(t, "lane", 0)) }

func (e *env) exec(t *testing.T, c *script.Cmd) string {
	li := laneArg(t, c)
	switch c.Name {
	case "new":
		return ""
	case "append":
		e.append(li, kindArg(t, c), int(c.Int(t, "n", 1)), int(c.Int(t, "size", 100)))
	case "load":
		return e.loadCmd(t, c)
	case "ack":
		return e.ackCmd(t, c)
	case "purge":
		e.purge(li)
	case "drop":
		return fmtSegs("drop", e.t.Drop(nil))
	case "restart":
		return e.restart() + "\n" + e.dump()
	default:
		return e.tierCmd(t, c)
	}
	return ""
}

func (e *env) tierCmd(t *testing.T, c *script.Cmd) string {
	if (c.Name == "upload" || c.Name == "cancel" || c.Name == "commit") && e.job == nil || c.Name == "commit" && e.run == nil {
		return "no upload picked or read\n"
	}
	switch c.Name {
	case "pick":
		return e.pick(c.Has("scan"))
	case "upload":
		return e.upload()
	case "commit":
		var job *Upload
		if c.Has("seq") {
			j := e.picked[uint64(c.Int(t, "seq", 0))]
			job = &j
		}
		return e.commit(job, c.Has("mismatch"))
	case "cancel":
		e.t.Cancel(*e.job)
		e.job = nil
	case "fetches":
		e.fetches(laneArg(t, c))
	case "fetched":
		var err error
		if c.Has("err") {
			err = fmt.Errorf("bad object: %w", errors.New("corrupt"))
		}
		return e.fetched(uint64(c.Int(t, "seq", 0)), err)
	case "locate":
		s, ok := e.t.Locate(laneArg(t, c), kindArg(t, c), storage.MsgID(c.Int(t, "id", 0)))
		return fmt.Sprintf("cold=%v segment=[%d,%d]\n", ok, s.First, s.Last)
	case "dead":
		return e.dead()
	case "account":
		d := e.t.Account(e)
		s := e.t.Stats()
		return fmt.Sprintf("delta=%+d/%+d hot=%d/%d (weight %d) cold=%d/%d\n", d.N, d.Bytes, s.Hot.N, s.Hot.Bytes, s.Hot.Weight(), s.Cold.N, s.Cold.Bytes)
	case "state":
		return e.dump()
	default:
		t.Fatalf("%s: unknown command %q", c.Pos, c.Name)
	}
	return ""
}

func (e *env) pick(scan bool) string {
	j, ok := e.t.Pick(e, scan)
	if !ok {
		return "no upload\n"
	}
	e.job = &j
	e.picked[j.Seq] = j
	return fmt.Sprintf("upload %d: lane=%d %v [%d,%d) max=%d/%d\n", j.Seq, j.Lane, j.Kind, j.From, j.To, j.MaxCount, j.MaxBytes)
}

func (e *env) loadCmd(t *testing.T, c *script.Cmd) string {
	li := laneArg(t, c)
	got, err := e.load(li, int(c.Int(t, "count", 256)), c.Int(t, "bytes", 1<<20))
	var b strings.Builder
	switch {
	case err != nil:
		fmt.Fprintf(&b, "load: %v\n", err)
	case len(got) == 0:
		b.WriteString("load: empty\n")
	default:
		b.WriteString("load:")
		for _, en := range got {
			fmt.Fprintf(&b, " %d%s", en.ID, en.Stored.String()[:1])
		}
		b.WriteString("\n")
	}
	e.out.WriteString(b.String())
	e.fetches(li)
	return ""
}

func (e *env) ackCmd(t *testing.T, c *script.Cmd) string {
	var parts []string
	for _, id := range c.Ints(t, "ids") {
		parts = append(parts, e.ack(laneArg(t, c), storage.MsgID(id)))
	}
	return "ack " + strings.Join(parts, ", ") + "\n"
}

func fmtSegs(what string, segs []pebblestore.Segment) string {
	var b strings.Builder
	for _, s := range segs {
		fmt.Fprintf(&b, "%s %v lane=%d [%d,%d]\n", what, s.Kind, s.Lane, s.First, s.Last)
	}
	return b.String()
}

func fmtFetch(f Fetch) string {
	s := &f.Seg
	if f.Index == nil {
		return fmt.Sprintf("%d: index of %v lane=%d [%d,%d] bytes=%d", f.Seq, s.Kind, s.Lane, s.First, s.Last, f.Bytes)
	}
	return fmt.Sprintf("%d: %v lane=%d [%d,%d] records %d..%d ids %d..%d bytes=%d", f.Seq, s.Kind, s.Lane, s.First, s.Last,
		f.I, f.J, f.Index.ID(f.I), f.Index.ID(f.J-1), f.Bytes)
}

func fmtResult(r *FetchResult) string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case r.Fetch.Index == nil:
		return fmt.Sprintf("index of %d records", r.Index.Len())
	}
	ids := make([]string, len(r.Entries))
	for i := range r.Entries {
		ids[i] = fmt.Sprint(r.Entries[i].ID)
	}
	return "block " + strings.Join(ids, ",")
}

// dump prints the tier's tables, estimates and reads, lane by lane.
func (e *env) dump() string {
	var b strings.Builder
	tq := e.t
	s := tq.Stats()
	fmt.Fprintf(&b, "segments=%d objbytes>0=%v readahead=%d uploading=%v\n", s.Segments, s.ObjectBytes > 0, s.ReadAhead, tq.Uploading())
	for li := range tq.lanes {
		l := &tq.lanes[li]
		for ki := range l.kinds {
			k := &l.kinds[ki]
			if len(k.segs) == 0 && len(k.read.blocks) == 0 && k.cold == (Span{}) && k.read.ix == nil && k.hotFrom == 0 {
				continue
			}
			fmt.Fprintf(&b, "lane %d %v: cold=%d/%d hotFrom=%d", li, kindAt(ki), k.cold.N, k.cold.Bytes, k.hotFrom)
			for _, sg := range k.segs {
				mark := ""
				if sg.marked {
					mark = "*"
				}
				fmt.Fprintf(&b, " [%d,%d]%s", sg.First, sg.Last, mark)
			}
			b.WriteString("\n")
			dumpReads(&b, &k.read)
		}
	}
	return b.String()
}

func dumpReads(b *strings.Builder, r *reads) {
	if r.ix != nil || r.ixSeq != 0 {
		fmt.Fprintf(b, "  index of %d (pending=%v)\n", r.ixFirst, r.ixSeq != 0)
	}
	for _, bl := range r.blocks {
		if bl.pending {
			fmt.Fprintf(b, "  block [%d,%d) pending seq=%d\n", bl.from, bl.end, bl.seq)
			continue
		}
		fmt.Fprintf(b, "  block [%d,%d) %d entries\n", bl.from, bl.end, len(bl.entries))
	}
	if r.err != nil {
		fmt.Fprintf(b, "  err: %v\n", r.err)
	}
}
