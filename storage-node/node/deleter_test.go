package node

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
	"github.com/warrenmq/warren/storage-node/pebblestore"
	"github.com/warrenmq/warren/storage-node/queue"
)

// walGateFS holds the syncs of Pebble's WAL files while its gate is
// closed: a test sees what the node does before a batch is durable.
type walGateFS struct {
	vfs.FS
	mu      sync.Mutex
	gate    chan struct{} // nil while open
	blocked atomic.Int32  // syncs waiting now
}

func (fs *walGateFS) hold() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.gate == nil {
		fs.gate = make(chan struct{})
	}
}

func (fs *walGateFS) release() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.gate != nil {
		close(fs.gate)
		fs.gate = nil
	}
}

func (fs *walGateFS) wait() {
	fs.mu.Lock()
	g := fs.gate
	fs.mu.Unlock()
	if g != nil {
		fs.blocked.Add(1)
		<-g
		fs.blocked.Add(-1)
	}
}

func (fs *walGateFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &walGateFile{File: f, fs: fs}, nil
}

func (fs *walGateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs *walGateFS) ReuseForWrite(old, name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, name, c)
	return fs.wrap(name, f, err)
}

func (fs *walGateFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(name, f, err)
}

type walGateFile struct {
	vfs.File
	fs *walGateFS
}

func (f *walGateFile) Sync() error {
	f.fs.wait()
	return f.File.Sync()
}

func (f *walGateFile) SyncData() error {
	f.fs.wait()
	return f.File.SyncData()
}

func (f *walGateFile) SyncTo(n int64) (bool, error) {
	f.fs.wait()
	return f.File.SyncTo(n)
}

// TestTierDeleteAfterSync: the segments a purge makes dead leave the
// table and get their delete intents at once, but their objects are
// deleted only after the batch that removed them is durable.
func TestTierDeleteAfterSync(t *testing.T) {
	st := objstoretest.NewMem()
	fs := &walGateFS{FS: vfs.NewMem()}
	opts := tinyTier(st)
	opts.FS = fs
	n, _ := testNode(t, opts)
	defer fs.release() // before the cleanup's Close
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 20)...)
	tierIdle(t, n)
	objects := st.Keys()
	if len(objects) < 2 {
		t.Fatalf("objects %q, want the backlog in several", objects)
	}

	fs.hold()
	purged := make(chan error, 1)
	go func() {
		_, err := n.PurgeQueue(bg, 1)
		purged <- err
	}()
	eventually(t, func() bool { return fs.blocked.Load() > 0 })
	// The purge's iteration is over once a later command is answered.
	if _, err := n.call(bg, n.shardOf(1), cmd{kind: cmdFunc, fn: func(*shard) {}}); err != nil {
		t.Fatal(err)
	}
	if segs := segmentsOf(t, n, 1); len(segs) != 0 {
		t.Fatalf("segments %+v after the purge", segs)
	}
	if dels, _ := n.db.Intents(pebblestore.IntentDelete); !slices.Equal(dels, objects) {
		t.Fatalf("delete intents %q, want %q", dels, objects)
	}
	if c := st.Calls(objstoretest.OpDelete); c != 0 || !slices.Equal(st.Keys(), objects) {
		t.Fatalf("%d Deletes before the fsync; store %q", c, st.Keys())
	}

	fs.release()
	if err := <-purged; err != nil {
		t.Fatal(err)
	}
	tierIdle(t, n)
	if c := st.Calls(objstoretest.OpDelete); c != len(objects) {
		t.Fatalf("%d Deletes, want %d", c, len(objects))
	}
	tierClean(t, n, st)
}

// TestTierDeleteRetried: segments made dead by acks, a purge or the
// queue's delete are deleted although the store fails Deletes for a
// while, whether a failed call deleted the object or not.
func TestTierDeleteRetried(t *testing.T) {
	kill := map[string]func(t *testing.T, n *Node){
		"ack": func(t *testing.T, n *Node) {
			sess, sk := openSession(t, n)
			if err := sess.Consume(storage.ConsumerSpec{Queue: 1, Tag: "c", Credit: 100}); err != nil {
				t.Fatal(err)
			}
			if err := sess.Settle(settleAll(sk.wait(t, 20), storage.Ack), nil); err != nil {
				t.Fatal(err)
			}
		},
		"purge": func(t *testing.T, n *Node) {
			if _, err := n.PurgeQueue(bg, 1); err != nil {
				t.Fatal(err)
			}
		},
		"delete": func(t *testing.T, n *Node) {
			if _, err := n.DeleteQueue(bg, 1, false, false); err != nil {
				t.Fatal(err)
			}
		},
	}
	for _, how := range []string{"ack", "purge", "delete"} {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/acted=%v", how, after), func(t *testing.T) {
				st := objstoretest.NewMem()
				n, _ := testNode(t, tinyTier(st))
				mustCreate(t, n, durable(1, "q"))
				publish(t, n, 1, true, seqBodies("m", 20)...)
				tierIdle(t, n)
				objects := len(st.Keys())
				if after {
					st.FailNextAfter(objstoretest.OpDelete, 2, nil)
				} else {
					st.FailNext(objstoretest.OpDelete, 2, nil)
				}
				kill[how](t, n)
				tierIdle(t, n)
				if c := st.Calls(objstoretest.OpDelete); c != objects+2 {
					t.Fatalf("%d Deletes, want one per object (%d) and the 2 retries", c, objects)
				}
				if m := n.Metrics(); m.TierDeletes != uint64(objects) || m.TierDeleteErrors != 2 {
					t.Fatalf("metrics count %d Deletes, %d errors; want %d, 2", m.TierDeletes, m.TierDeleteErrors, objects)
				}
				tierClean(t, n, st)
				if keys := st.Keys(); len(keys) != 0 {
					t.Fatalf("objects left: %q", keys)
				}
			})
		}
	}
}

// TestTierDeleteAfterRestart: delete intents the deleter had not carried
// out when the node closed are carried out after the restart.
func TestTierDeleteAfterRestart(t *testing.T) {
	st := objstoretest.NewMem()
	opts := tinyTier(st)
	n, fs := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 20)...)
	tierIdle(t, n)
	objects := st.Keys()
	st.Pause(objstoretest.OpDelete)
	if _, err := n.PurgeQueue(bg, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return st.Blocked(objstoretest.OpDelete) == 1 })
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	opts.FS = fs
	n, _ = testNode(t, opts)
	if dels, _ := n.db.Intents(pebblestore.IntentDelete); !slices.Equal(dels, objects) {
		t.Fatalf("delete intents after the restart %q, want %q", dels, objects)
	}
	st.Resume(objstoretest.OpDelete)
	tierIdle(t, n)
	tierClean(t, n, st)
	if keys := st.Keys(); len(keys) != 0 {
		t.Fatalf("objects left: %q", keys)
	}
}

// TestTierSweep: the startup sweep deletes an object of an earlier boot
// that no table and no intent names, and keeps the tabled objects of
// that boot, the objects of the current boot (an upload may be about to
// commit one) and every key that is not this node's.
func TestTierSweep(t *testing.T) {
	st := objstoretest.NewMem()
	opts := tinyTier(st)
	n, fs := testNode(t, opts)
	mustCreate(t, n, durable(1, "q"))
	publish(t, n, 1, true, seqBodies("m", 20)...)
	tierIdle(t, n)
	tabled := st.Keys()
	nid, boot := n.db.NodeID(), n.boot
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	seg := func(boot uint64) *pebblestore.Segment {
		return &pebblestore.Segment{Queue: 1, Kind: queue.Durable, First: 1000, Boot: boot, Seq: 99}
	}
	orphan := seg(boot).ObjectKey(nid)
	keep := []string{
		seg(boot + 1).ObjectKey(nid), // the reopened node's boot
		seg(boot).ObjectKey(nid + 1), // another node's
		fmt.Sprintf("%016x/notes", nid),
		fmt.Sprintf("%016x/0000000000000001/000/P00000000000003e8-%x-63", nid, boot), // not canonical
		"elsewhere/object",
	}
	for _, k := range append([]string{orphan}, keep...) {
		if err := st.Put(bg, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}

	opts.FS = fs
	n, _ = testNode(t, opts)
	if n.boot != boot+1 {
		t.Fatalf("boot %d after boot %d", n.boot, boot)
	}
	tierIdle(t, n)
	want := append(slices.Clone(tabled), keep...)
	slices.Sort(want)
	if got := st.Keys(); !slices.Equal(got, want) {
		t.Fatalf("after the sweep the store holds %q\nwant %q", got, want)
	}
	if o := n.tier.del.orphans.Load(); o != 1 {
		t.Fatalf("%d orphans counted, want 1", o)
	}
}
