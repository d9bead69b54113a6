package node

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
)

// drain consumes everything ready on q with a no-ack consumer.
func drain(t *testing.T, n *Node, q storage.QueueID) []storage.Delivery {
	t.Helper()
	st, err := n.Stats(bg, q)
	if err != nil {
		t.Fatal(err)
	}
	s, sk := openSession(t, n)
	defer s.Close()
	if err := s.Consume(storage.ConsumerSpec{Queue: q, Tag: "drain", NoAck: true, Unlimited: true}); err != nil {
		t.Fatal(err)
	}
	got := sk.wait(t, int(st.Ready))
	syncShards(t, n)
	if extra := sk.take(); len(extra) != len(got) {
		t.Fatalf("Stats said %d ready, drained %d", st.Ready, len(extra))
	}
	return got
}

func TestRestartRecovery(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{FS: fs, DeliveredChunk: 1}
	n, _ := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	mustCreate(t, n, spec(2, "transient-queue"))
	pq := durable(3, "prio")
	pq.MaxPriority = 3
	mustCreate(t, n, pq)
	publish(t, n, 1, true, "p0", "p1")
	publish(t, n, 1, false, "t0")
	publish(t, n, 1, true, "p2", "p3", "p4")
	publish(t, n, 2, true, "gone")
	for i, p := range []uint8{1, 3, 0, 3} {
		m := message(fmt.Sprint("prio", i), true)
		m.Priority = p
		if _, err := n.Append(bg, []storage.Publish{{Queues: []storage.QueueID{3}, Msg: m}}); err != nil {
			t.Fatal(err)
		}
	}
	s, sk := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 3})
	got := sk.wait(t, 3) // p0 p1 t0
	_ = s.Settle(settleAll(got[:1], storage.Ack), nil)
	syncShards(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n2, _ := testNode(t, opts)
	if st, err := n2.Stats(bg, 1); err != nil || st.Ready != 4 || st.Unacked != 0 {
		t.Fatalf("queue 1 after restart: %+v %v", st, err)
	}
	if _, err := n2.Stats(bg, 2); !isCode(err, reply.NotFound) {
		t.Fatalf("non-durable queue survived: %v", err)
	}
	// p1 was delivered and not acked: redelivered. The transient t0 is gone.
	if b := bodies(drain(t, n2, 1)); b != "p1* p2 p3 p4" {
		t.Fatalf("queue 1 after restart: %q", b)
	}
	if b := bodies(drain(t, n2, 3)); b != "prio1 prio3 prio0 prio2" {
		t.Fatalf("priority queue after restart: %q", b)
	}
	// IDs are never reused: a new message gets an ID above the old ones.
	publish(t, n2, 1, true, "new")
	if d := drain(t, n2, 1); len(d) != 1 || d[0].ID <= got[2].ID {
		t.Fatalf("new message after restart: %+v", d)
	}
}

// TestCrashKeepsConfirmed appends from concurrent callers, consumes some,
// then "crashes": the store is cloned keeping only synced data (or a random
// part of the unsynced data) and reopened. Every confirmed persistent
// message must come back exactly once, and every one delivered before the
// crash must come back flagged redelivered.
func TestCrashKeepsConfirmed(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { crashOnce(t, seed) })
	}
}

func crashOnce(t *testing.T, seed uint64) {
	fs := vfs.NewCrashableMem()
	opts := Options{FS: fs, Logger: quietLogger(), Shards: 2, DiskFreeLimit: -1, QueueCacheBytes: 4 << 10, DeliveredChunk: 16}
	n, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, n, durable(1, "q"))
	var mu sync.Mutex
	confirmed := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 20 {
				var batch []storage.Publish
				for i := range 10 {
					body := fmt.Sprintf("w%d-%d-%d", w, b, i)
					batch = append(batch, storage.Publish{Queues: []storage.QueueID{1}, Msg: message(body, i%3 != 0)})
				}
				if _, err := n.Append(bg, batch); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, p := range batch {
					if p.Msg.Persistent {
						confirmed[string(p.Msg.Body)] = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	s, sk := openSession(t, n)
	_ = s.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 150})
	wg.Wait()
	sk.wait(t, 150)
	// More deliveries after the last append: only the delivered mark's own
	// fsync can make them come back flagged.
	s.Grant("c", 100)
	delivered := sk.wait(t, 250)
	_ = s.Settle(settleAll(delivered[:50], storage.Ack), nil)
	syncShards(t, n)
	acked := map[string]bool{}
	for _, d := range delivered[:50] {
		acked[string(d.Msg.Body)] = true
	}

	r := rand.New(rand.NewPCG(seed, 1))
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: int(seed * 30), RNG: r})
	_ = n.Close()

	opts.FS = crashed
	n2, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	seen := map[string]int{}
	redelivered := map[string]bool{}
	for _, d := range drain(t, n2, 1) {
		seen[string(d.Msg.Body)]++
		redelivered[string(d.Msg.Body)] = d.Redelivered
		if !d.Msg.Persistent {
			t.Fatalf("transient message %s survived the crash", d.Msg.Body)
		}
	}
	for body := range confirmed {
		if seen[body] == 0 && !acked[body] {
			t.Fatalf("confirmed message %s lost", body)
		}
	}
	for body, c := range seen {
		if c != 1 {
			t.Fatalf("message %s came back %d times", body, c)
		}
	}
	for _, d := range delivered[50:] {
		b := string(d.Msg.Body)
		if d.Msg.Persistent && !redelivered[b] {
			t.Fatalf("%s was delivered before the crash but came back without redelivered", b)
		}
	}
}

// TestKill runs a child process that appends persistent messages and
// prints what was confirmed, kills it with SIGKILL, and checks that every
// confirmed message is in the reopened store.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v")
	cmd.Env = append(os.Environ(), "WARREN_KILL_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	confirmed := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(confirmed) < 3000 {
		if body, ok := strings.CutPrefix(sc.Text(), "confirmed "); ok {
			confirmed[body] = true
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if len(confirmed) < 3000 {
		t.Fatalf("child confirmed only %d messages", len(confirmed))
	}
	n, err := Open(dir, Options{Logger: quietLogger(), DiskFreeLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	seen := map[string]bool{}
	for _, d := range drain(t, n, 1) {
		seen[string(d.Msg.Body)] = true
	}
	for body := range confirmed {
		if !seen[body] {
			t.Fatalf("confirmed %s lost after SIGKILL (%d confirmed, %d recovered)", body, len(confirmed), len(seen))
		}
	}
	t.Logf("%d confirmed, %d recovered", len(confirmed), len(seen))
}

// TestKillChild is TestKill's child; it does nothing when run directly.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("WARREN_KILL_DIR")
	if dir == "" {
		t.Skip("run by TestKill")
	}
	n, err := Open(dir, Options{Logger: quietLogger(), DiskFreeLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, n, durable(1, "q"))
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				batch := make([]storage.Publish, 20)
				for i := range batch {
					batch[i] = storage.Publish{Queues: []storage.QueueID{1}, Msg: message(strconv.Itoa(g)+"-"+strconv.Itoa(b)+"-"+strconv.Itoa(i), true)}
				}
				if _, err := n.Append(bg, batch); err != nil {
					return
				}
				mu.Lock()
				for _, p := range batch {
					fmt.Fprintf(w, "confirmed %s\n", p.Msg.Body)
				}
				_ = w.Flush()
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute) // killed long before
	wg.Wait()
}

// TestTTLAfterRestart: a recovered queue arms its head's expiry timer by
// itself; the message expires and is dead-lettered with no command sent.
func TestTTLAfterRestart(t *testing.T) {
	fs := vfs.NewMem()
	clock := newFakeClock()
	dl := newDLRecorder()
	opts := Options{FS: fs, Clock: clock, DeadLetterer: dl}
	n, _ := testNode(t, opts)
	sp := durable(1, "q")
	sp.MessageTTL = 1000
	sp.HasDLX, sp.DeadLetterExchange = true, "dlx"
	mustCreate(t, n, sp)
	publish(t, n, 1, true, "a", "b")
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	testNode(t, opts)
	deadline := time.Now().Add(10 * time.Second)
	for dl.count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("recovered messages never expired")
		}
		clock.Advance(100 * time.Millisecond) // past the expiry after ten steps
		time.Sleep(time.Millisecond)
	}
	got := dl.wait(t, 2)
	if string(got[0].Msg.Body) != "a" || string(got[1].Msg.Body) != "b" {
		t.Fatalf("dead letters %q %q", got[0].Msg.Body, got[1].Msg.Body)
	}
}
