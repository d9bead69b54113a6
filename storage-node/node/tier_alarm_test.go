package node

import (
	"testing"
	"time"

	"github.com/warrenmq/warren/api/alarm"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
	"github.com/warrenmq/warren/storage-node/tier"
)

func TestHotAlarmMarks(t *testing.T) {
	for _, c := range []struct {
		up          bool
		hot, budget int64
		want        bool
	}{
		{false, 999, 1000, false},
		{false, 1000, 1000, true}, // rises at the budget
		{true, 1000, 1000, true},
		{true, 900, 1000, true}, // stays up down to 90%
		{true, 899, 1000, false},
		{false, 950, 1000, false}, // between the marks it keeps its state
		{true, 950, 1000, true},
		{true, 0, 1, false},
		{false, 1, 1, true},
	} {
		if got := hotAlarm(c.up, c.hot, c.budget); got != c.want {
			t.Errorf("hotAlarm(up %v, hot %d, budget %d) = %v", c.up, c.hot, c.budget, got)
		}
	}
}

// waitAlarms reads states from ch until one satisfies ok, and returns it.
func waitAlarms(t *testing.T, ch <-chan AlarmState, ok func(AlarmState) bool) AlarmState {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case st := <-ch:
			if ok(st) {
				return st
			}
		case <-deadline:
			t.Fatal("alarm state not reached")
		}
	}
}

// TestTierOutageHotAlarm is TIERING.md §6 with the object store out: the
// store fails every Put, or hangs in one. Publishing goes on, the records
// stay hot, and the hot-budget alarm rises at exactly Tier.HotBytes, as
// the disk alarm a gateway turns into connection.blocked "low on disk".
// No AlarmInterval tick runs: the shards' nudge drives the monitor. Once
// the store is back, the backlog moves to segments, the alarm clears and
// a consumer drains everything, with no error.
func TestTierOutageHotAlarm(t *testing.T) {
	for _, c := range []struct {
		name    string
		stop    func(st *objstoretest.Mem)
		restart func(st *objstoretest.Mem, clock *fakeClock)
	}{
		{"fail",
			func(st *objstoretest.Mem) { st.FailNext(objstoretest.OpPut, -1, nil) },
			func(st *objstoretest.Mem, clock *fakeClock) {
				st.FailNext(objstoretest.OpPut, 0, nil)
				clock.Advance(maxTierBackoff) // the backoff ends
			}},
		{"hang",
			func(st *objstoretest.Mem) { st.Pause(objstoretest.OpPut) },
			func(st *objstoretest.Mem, _ *fakeClock) { st.Resume(objstoretest.OpPut) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := objstoretest.NewMem()
			c.stop(st)
			clock := newFakeClock()
			opts := tinyTier(st)
			opts.Clock, opts.AlarmInterval = clock, time.Hour
			want := seqBodies("m", 30)
			opts.Tier.HotBytes = 10 * (2 + tier.RecordOverhead) // m0 … m9
			n, _ := testNode(t, opts)
			mustCreate(t, n, durable(1, "q"))
			states, unsubscribe := n.SubscribeAlarms()
			defer unsubscribe()
			if st := <-states; st != (AlarmState{}) {
				t.Fatalf("alarms %+v before publishing", st)
			}

			var weight int64
			for i, b := range want {
				if weight >= opts.Tier.HotBytes {
					break
				}
				if n.HotAlarm() {
					t.Fatalf("hot alarm up at %d hot bytes, message %d", weight, i)
				}
				publish(t, n, 1, true, b)
				weight += int64(len(b)) + tier.RecordOverhead
			}
			up := waitAlarms(t, states, func(a AlarmState) bool { return a.Disk })
			if r := alarm.State(up).Reason(); r != "low on disk" || !n.HotAlarm() {
				t.Fatalf("alarm %+v (reason %q, hot alarm %v)", up, r, n.HotAlarm())
			}
			// The first upload reached the store, which failed it (the
			// backoff began) or holds it.
			eventually(t, func() bool { return !n.tier.storeUp() || st.Blocked(objstoretest.OpPut) == 1 })
			publish(t, n, 1, true, want[10:]...) // the node still takes them: gateways block
			quiesce(t, n)
			if hot := n.tier.hot.Load(); hot < weight {
				t.Fatalf("%d hot bytes after publishing %d", hot, weight)
			}
			if puts := st.Calls(objstoretest.OpPut); puts != 1 {
				t.Fatalf("%d Puts, want 1: in the backoff, or behind the queue's upload, no other starts", puts)
			}
			if m := n.Metrics(); m.TierStoreUp == (c.name == "fail") || !m.HotAlarm || m.HotBytes < weight ||
				m.TierUploadErrors != map[bool]uint64{true: 1}[c.name == "fail"] {
				t.Fatalf("metrics in the outage: %+v", m)
			}

			c.restart(st, clock)
			waitAlarms(t, states, func(a AlarmState) bool { return a == AlarmState{} })
			tierIdle(t, n)
			if m := n.Metrics(); m.HotAlarm || m.HotBytes != 0 || !m.TierStoreUp {
				t.Fatalf("metrics after the outage: %+v", m)
			}
			sess, sk := openSession(t, n)
			if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 100}); err != nil {
				t.Fatal(err)
			}
			if got := bodies(sk.wait(t, len(want))); got != bodies(deliveriesOf(want)) {
				t.Fatalf("drained %s", got)
			}
			if cs := sk.cancels(); len(cs) != 0 {
				t.Fatalf("consumer cancelled: %v %v", cs, sk.reasons)
			}
		})
	}
}

// TestTierHotAlarmAfterRestart: a node that restarts while the store is
// out finds its hot bytes over the budget in the recovered queues, and
// raises the alarm without a publish.
func TestTierHotAlarmAfterRestart(t *testing.T) {
	st := objstoretest.NewMem()
	st.FailNext(objstoretest.OpPut, -1, nil)
	clock := newFakeClock()
	opts := tinyTier(st)
	opts.Clock, opts.AlarmInterval = clock, time.Hour
	opts.Tier.HotBytes = 10 * (2 + tier.RecordOverhead)
	n, fs := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 10)...)
	eventually(t, n.HotAlarm)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	opts.FS = fs
	n, _ = testNode(t, opts)
	states, unsubscribe := n.SubscribeAlarms()
	defer unsubscribe()
	waitAlarms(t, states, func(a AlarmState) bool { return a.Disk })
	eventually(t, func() bool { return !n.tier.storeUp() }) // the backoff timer is set
	st.FailNext(objstoretest.OpPut, 0, nil)
	clock.Advance(maxTierBackoff)
	waitAlarms(t, states, func(a AlarmState) bool { return !a.Disk })
}

// TestTierBackoff: failed Puts back uploads off node-wide, doubling from
// 100 ms up to 30 s; the store counts as down until a Put succeeds.
func TestTierBackoff(t *testing.T) {
	clock := newFakeClock()
	opts := tinyTier(objstoretest.NewMem())
	opts.Clock = clock
	n, _ := testNode(t, opts)
	tr := n.tier
	want := minTierBackoff
	for range 12 {
		tr.putFailed()
		tr.backoff.mu.Lock()
		got := tr.backoff.until.Sub(clock.Now())
		tr.backoff.mu.Unlock()
		if got != want || !tr.inBackoff() || tr.storeUp() || tr.takeSlot() {
			t.Fatalf("backoff %v, want %v (in backoff %v, store up %v)", got, want, tr.inBackoff(), tr.storeUp())
		}
		want = min(2*want, maxTierBackoff)
	}
	clock.Advance(maxTierBackoff) // the timers retry the picks
	if tr.inBackoff() || tr.storeUp() {
		t.Fatalf("after the backoff: in backoff %v, store up %v before a Put succeeded", tr.inBackoff(), tr.storeUp())
	}
	tr.putSucceeded()
	if !tr.storeUp() {
		t.Fatal("store down after a Put succeeded")
	}
	tierIdle(t, n)
}
