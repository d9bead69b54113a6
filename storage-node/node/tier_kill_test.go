package node

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/objstore/folder"
)

// killTierOpts tiers everything at once, in small segments, to st.
func killTierOpts(st objstore.Store) Options {
	o := tinyTier(nil)
	o.ObjectStore, o.Logger, o.Shards, o.DiskFreeLimit = st, quietLogger(), 2, -1
	return o
}

// TestTierKill is TIERING.md §9's SIGKILL check of tiering: a child
// process publishes to a two-lane queue and consumes most of it with acks,
// tiering everything (transient messages to transient segments) to a
// folder store, and is killed with SIGKILL at the
// n-th pass of a crash point of the tier's workers (or, for "random", by
// this test after some confirms, wherever it is). After reopening, once
// the deleter and the sweep are idle, the folder holds exactly the
// objects the tables name and no intent is left, and the sweep found no
// orphan (the intents alone cover a process crash); every confirmed
// message that was not acked drains, in order in its lane.
func TestTierKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	var runs []string
	for _, p := range []string{crashAfterIntent, crashAfterPut, crashAfterCommit, crashBeforeDelete, crashAfterDelete} {
		runs = append(runs, p+":1", p+":4")
	}
	runs = append(runs, "random:1", "random:2", "random:3")
	for _, at := range runs {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			tierKillOnce(t, at)
		})
	}
}

func tierKillOnce(t *testing.T, at string) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTierKillChild$", "-test.v")
	cmd.Env = append(os.Environ(), "WARREN_TIER_KILL_DIR="+dir)
	killAfter := -1 // confirms before this test kills the child
	if seed, ok := strings.CutPrefix(at, "random:"); ok {
		s, _ := strconv.ParseUint(seed, 10, 64)
		killAfter = 50 + rand.New(rand.NewPCG(s, 9)).IntN(1000)
	} else {
		cmd.Env = append(cmd.Env, "WARREN_TIER_CRASH_AT="+at)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	confirmed, acked, log := readChild(out, killAfter, cmd.Process)
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child not killed (%v):\n%s\n%s", err, log, stderr.String())
	}
	st, err := folder.New(filepath.Join(dir, "cold"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(filepath.Join(dir, "data"), killTierOpts(st))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	tierIdle(t, n)
	tierClean(t, n, st)
	if o := n.tier.del.orphans.Load(); o != 0 {
		t.Fatalf("the sweep found %d orphans: the intents missed a crash window", o)
	}
	checkDrained(t, drain(t, n, 1), confirmed, acked)
	tierIdle(t, n)
	tierClean(t, n, st)
	t.Logf("%d confirmed, %d acked", len(confirmed), len(acked))
}

// readChild reads the child's "confirmed"/"acked" lines until it dies;
// with killAfter >= 0 it kills the child after that many confirms.
func readChild(out io.Reader, killAfter int, p *os.Process) (
	confirmed []string, acked map[string]bool, log string) {
	acked = map[string]bool{}
	var other strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if body, ok := strings.CutPrefix(line, "confirmed "); ok {
			confirmed = append(confirmed, body)
			if len(confirmed) == killAfter {
				_ = p.Signal(syscall.SIGKILL)
			}
		} else if body, ok := strings.CutPrefix(line, "acked "); ok {
			acked[body] = true
		} else {
			other.WriteString(line + "\n")
		}
	}
	return confirmed, acked, other.String()
}

// transient tells the child's transient messages, spilled and tiered to
// transient segments, which a restart drops: every third batch of 10, so
// that a lane's spilled records sometimes outweigh its durable ones and
// get picked.
func transient(seq int) bool { return seq/10%3 == 2 }

// checkDrained: every confirmed persistent message not acked came back,
// none twice, no transient one, and each lane (the priority) came back in
// publish order.
func checkDrained(t *testing.T, got []storage.Delivery, confirmed []string, acked map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	last := map[uint8]int{0: -1, 1: -1}
	for _, d := range got {
		b := string(d.Msg.Body)
		seq, err := strconv.Atoi(strings.TrimPrefix(b, "m"))
		if err != nil || seen[b] || transient(seq) {
			t.Fatalf("drained %q (again: %v)", b, seen[b])
		}
		seen[b] = true
		lane := d.Msg.Priority
		if int(lane) != seq%2 || seq <= last[lane] {
			t.Fatalf("lane %d drained %s after m%d", lane, b, last[lane])
		}
		last[lane] = seq
	}
	for _, b := range confirmed {
		seq, _ := strconv.Atoi(strings.TrimPrefix(b, "m"))
		if !seen[b] && !acked[b] && !transient(seq) {
			t.Fatalf("confirmed %s lost (%d confirmed, %d acked, %d drained)", b, len(confirmed), len(acked), len(got))
		}
	}
}

// TestTierKillChild is TestTierKill's child; it does nothing when run
// directly. It publishes messages m0, m1, … (priority i%2, every third
// batch transient) in batches, printing each confirm, and consumes 70% of them with acks,
// printing each ack before it is sent, until it is killed.
func TestTierKillChild(t *testing.T) {
	dir := os.Getenv("WARREN_TIER_KILL_DIR")
	if dir == "" {
		t.Skip("run by TestTierKill")
	}
	if at := os.Getenv("WARREN_TIER_CRASH_AT"); at != "" {
		crashHook = killAt(at)
	}
	st, err := folder.New(filepath.Join(dir, "cold"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(filepath.Join(dir, "data"), killTierOpts(st))
	if err != nil {
		t.Fatal(err)
	}
	spec := durable(1, "q")
	spec.MaxPriority = 1
	mustCreate(t, n, spec)
	sess, sk := openSession(t, n)
	if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	say := func(what string, ds []string) {
		mu.Lock()
		for _, b := range ds {
			fmt.Fprintf(w, "%s %s\n", what, b)
		}
		_ = w.Flush()
		mu.Unlock()
	}
	go func() { // the consumer acks all it gets
		for range sk.changed {
			var acks []string
			ds := sk.take()
			for _, d := range ds {
				acks = append(acks, string(d.Msg.Body))
			}
			say("acked", acks)
			_ = sess.Settle(settleAll(ds, storage.Ack), nil)
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); {
		batch := make([]storage.Publish, 10)
		bodies := make([]string, len(batch))
		for j := range batch {
			bodies[j] = "m" + strconv.Itoa(i)
			m := message(bodies[j], !transient(i))
			m.Priority = uint8(i % 2)
			batch[j] = storage.Publish{Queues: []storage.QueueID{1}, Msg: m}
			i++
		}
		if _, err := n.Append(bg, batch); err != nil {
			t.Fatal(err)
		}
		say("confirmed", bodies)
		// Lane 1 (half the messages) drains as published, lane 0 gets
		// the rest of the credit: its backlog grows, and its head is read
		// back from segments, acked, and the segments die.
		sess.Grant("c", 7)
	}
	t.Fatal("not killed within a minute")
}

// killAt makes a crash hook that SIGKILLs the process at the n-th pass
// of a crash point, for "point:n".
func killAt(at string) func(string) {
	point, count, _ := strings.Cut(at, ":")
	n, err := strconv.Atoi(count)
	if err != nil {
		panic("WARREN_TIER_CRASH_AT: " + at)
	}
	var passes atomic.Int32
	return func(p string) {
		if p == point && int(passes.Add(1)) == n {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
