package pebblestore

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

func seg(q storage.QueueID, lane uint8, kind queue.Stored, first, last storage.MsgID) Segment {
	return Segment{Queue: q, Lane: lane, Kind: kind, First: first, Last: last,
		Count: int64(last-first) + 1, Bytes: 100, ObjSize: 5000, IndexOff: 4000, Boot: 7, Seq: 0x1f}
}

func TestSegmentRoundTrip(t *testing.T) {
	for _, s := range []Segment{
		seg(3, 0, queue.Durable, 1, 1),
		seg(math.MaxUint64, 255, queue.Spill, 1<<60, 1<<61),
		{Queue: 1, Kind: queue.Durable, First: 0, Last: math.MaxUint64 - 1, Count: math.MaxInt64,
			Bytes: math.MaxInt64, ObjSize: math.MaxInt64, IndexOff: math.MaxInt64, Boot: math.MaxUint64, Seq: math.MaxUint64},
	} {
		got, err := decodeSegment(segmentKey(&s), appendSegment(nil, &s))
		if err != nil || got != s {
			t.Fatalf("round trip of %+v: got %+v, %v", s, got, err)
		}
		nid, parsed, err := ParseObjectKey(s.ObjectKey(0xabc))
		want := s
		want.Last, want.Count, want.Bytes, want.ObjSize, want.IndexOff = 0, 0, 0, 0, 0
		if err != nil || nid != 0xabc || parsed != want {
			t.Fatalf("ParseObjectKey(%q) = %x %+v %v, want %+v", s.ObjectKey(0xabc), nid, parsed, err, want)
		}
	}
}

func TestObjectKey(t *testing.T) {
	s := seg(0x2a, 3, queue.Durable, 0x100, 0x1ff)
	if got, want := s.ObjectKey(0xfeed), "000000000000feed/000000000000002a/003/p0000000000000100-7-1f"; got != want {
		t.Fatalf("ObjectKey = %q, want %q", got, want)
	}
	s.Kind, s.Lane = queue.Spill, 200
	if got, want := s.ObjectKey(1), "0000000000000001/000000000000002a/200/t0000000000000100-7-1f"; got != want {
		t.Fatalf("ObjectKey = %q, want %q", got, want)
	}
}

func TestParseObjectKeyRejects(t *testing.T) {
	for _, key := range []string{
		"", "x", "warren/0000000000000001/003/p0000000000000100-7-1f",
		"0000000000000001/000000000000002a/003/p0000000000000100-7",         // no seq
		"0000000000000001/000000000000002a/003/q0000000000000100-7-1f",      // kind
		"0000000000000001/000000000000002a/256/p0000000000000100-7-1f",      // lane past 255
		"0000000000000001/000000000000002a/03/p0000000000000100-7-1f",       // lane width
		"0000000000000001/000000000000002A/003/p0000000000000100-7-1f",      // upper case
		"0000000000000001/000000000000002a/003/p0000000000000100-07-1f",     // leading zero
		"0000000000000001/000000000000002a/003/p0000000000000100-+7-1f",     // sign
		"0000000000000001/000000000000002a/003/p0000000000000100-7-1f/more", // depth
		"0000000000000001/000000000000002a/003/p0000000000000100-7-1f.tmp",
	} {
		if _, _, err := ParseObjectKey(key); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ParseObjectKey(%q) err = %v, want ErrCorrupt", key, err)
		}
	}
}

func TestDecodeSegmentCorrupt(t *testing.T) {
	good := seg(3, 1, queue.Durable, 10, 19)
	key := segmentKey(&good)
	val := func(f func(s *Segment)) []byte {
		s := good
		f(&s)
		return appendSegment(nil, &s)
	}
	cases := map[string]struct{ key, val []byte }{
		"short key":       {key[:17], val(func(*Segment) {})},
		"record key":      {msgKey(queue.Durable, 3, 1, 10), val(func(*Segment) {})},
		"version":         {key, append([]byte{2}, val(func(*Segment) {})[1:]...)},
		"empty":           {key, nil},
		"truncated":       {key, val(func(*Segment) {})[:5]},
		"trailing":        {key, append(val(func(*Segment) {}), 0)},
		"last below":      {key, val(func(s *Segment) { s.Last = 9 })},
		"last at max":     {key, val(func(s *Segment) { s.Last, s.Count = math.MaxUint64, 1 })},
		"no records":      {key, val(func(s *Segment) { s.Count = 0 })},
		"too many":        {key, val(func(s *Segment) { s.Count = 11 })},
		"index past end":  {key, val(func(s *Segment) { s.IndexOff = s.ObjSize + 1 })},
		"size past int64": {key, append(val(func(*Segment) {})[:3], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
	}
	for name, c := range cases {
		if _, err := decodeSegment(c.key, c.val); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := decodeSegment(key, val(func(s *Segment) { s.Count = 10 })); err != nil {
		t.Fatalf("full segment: %v", err)
	}
}

func TestNodeID(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs)
	id := d.NodeID()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openMem(t, fs)
	if d.NodeID() != id {
		t.Fatalf("node id changed across reopen: %x then %x", id, d.NodeID())
	}
	d.Close()
	other := openMem(t, vfs.NewMem())
	defer other.Close()
	if other.NodeID() == id {
		t.Fatalf("two fresh databases drew the same node id %x", id)
	}
	if _, err := decodeNodeID([]byte{1, 2, 3}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short node id: %v", err)
	}
}

func ids(es []queue.Entry) []storage.MsgID {
	var out []storage.MsgID
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// TestReadRun checks that a run holds one kind of one lane, stops at its
// bounds, and that DeleteKindRange removes exactly what the run read.
func TestReadRun(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	b := d.NewBatch()
	for id := storage.MsgID(1); id <= 10; id++ {
		kind := queue.Durable
		if id%3 == 0 {
			kind = queue.Spill
		}
		b.PutMessage(7, 2, &queue.Entry{ID: id, Msg: msg("abcd"), Stored: kind})
	}
	b.PutMessage(7, 1, &queue.Entry{ID: 4, Msg: msg("other lane"), Stored: queue.Durable})
	commit(t, d, b)
	cases := []struct {
		kind     queue.Stored
		from, to storage.MsgID
		max      int
		maxBytes int64
		want     []storage.MsgID
	}{
		{queue.Durable, 1, 11, 100, 1 << 20, []storage.MsgID{1, 2, 4, 5, 7, 8, 10}},
		{queue.Spill, 1, 11, 100, 1 << 20, []storage.MsgID{3, 6, 9}},
		{queue.Durable, 3, 8, 100, 1 << 20, []storage.MsgID{4, 5, 7}},
		{queue.Durable, 1, 11, 2, 1 << 20, []storage.MsgID{1, 2}},
		{queue.Durable, 1, 11, 100, 9, []storage.MsgID{1, 2, 4}}, // stops once 9 body bytes are read
		{queue.Durable, 1, 11, 100, 1, []storage.MsgID{1}},       // at least one
	}
	for _, c := range cases {
		got, err := d.ReadRun(7, 2, c.kind, c.from, c.to, c.max, c.maxBytes, nil)
		if err != nil || !slices.Equal(ids(got), c.want) {
			t.Errorf("ReadRun(%v, %d, %d, %d, %d) = %v, %v; want %v", c.kind, c.from, c.to, c.max, c.maxBytes, ids(got), err, c.want)
		}
	}
	b = d.NewBatch()
	b.DeleteKindRange(7, 2, queue.Durable, 1, 5)
	commit(t, d, b)
	all := queue.StoredMask(1<<queue.Durable | 1<<queue.Spill)
	got, _ := d.Load(7, 2, 0, 100, all, 100, 1<<20, nil)
	if want := []storage.MsgID{3, 5, 6, 7, 8, 9, 10}; !slices.Equal(ids(got), want) {
		t.Fatalf("after DeleteKindRange(durable, [1, 5)) lane holds %v, want %v", ids(got), want)
	}
}

func TestColdAcks(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	b := d.NewBatch()
	for _, id := range []storage.MsgID{5, 7, 9, 12} {
		b.PutColdAck(3, 1, queue.Durable, id)
	}
	b.PutColdAck(3, 1, queue.Spill, 8)
	b.PutColdAck(3, 2, queue.Durable, 6)
	b.PutColdAck(4, 1, queue.Durable, 6)
	commit(t, d, b)
	check := func(kind queue.Stored, from, to storage.MsgID, want ...storage.MsgID) {
		t.Helper()
		got, err := d.ColdAcks(3, 1, kind, from, to, nil)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("ColdAcks(%v, %d, %d) = %v, %v; want %v", kind, from, to, got, err, want)
		}
	}
	check(queue.Durable, 0, 100, 5, 7, 9, 12)
	check(queue.Durable, 6, 12, 7, 9)
	check(queue.Spill, 0, 100, 8)
	check(queue.Durable, 13, 100)
	b = d.NewBatch()
	b.DeleteColdAcks(3, 1, queue.Durable, 5, 10)
	commit(t, d, b)
	check(queue.Durable, 0, 100, 12)
	check(queue.Spill, 0, 100, 8)
	if got, _ := d.ColdAcks(3, 2, queue.Durable, 0, 100, nil); !slices.Equal(got, []storage.MsgID{6}) {
		t.Fatalf("other lane's acks %v", got)
	}
}

// TestColdAckRanges: a purge that starts inside a segment acks the rest
// of it as a range; a reader sees the ranges that overlap its block,
// clipped, and deleting the segment's cold acks deletes them too.
func TestColdAckRanges(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	b := d.NewBatch()
	b.PutColdAckRange(3, 1, queue.Durable, 10, 20)
	b.PutColdAckRange(3, 1, queue.Durable, 30, 31)
	b.PutColdAckRange(3, 1, queue.Spill, 10, 20)
	b.PutColdAckRange(3, 2, queue.Durable, 10, 20)
	commit(t, d, b)
	check := func(kind queue.Stored, from, to storage.MsgID, want ...IDRange) {
		t.Helper()
		got, err := d.ColdAckRanges(3, 1, kind, from, to, nil)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("ColdAckRanges(%v, %d, %d) = %v, %v; want %v", kind, from, to, got, err, want)
		}
	}
	check(queue.Durable, 0, 100, IDRange{10, 20}, IDRange{30, 31})
	check(queue.Durable, 15, 31, IDRange{15, 20}, IDRange{30, 31})
	check(queue.Durable, 20, 30)
	check(queue.Durable, 0, 10)
	check(queue.Spill, 19, 25, IDRange{19, 20})
	b = d.NewBatch()
	b.DeleteColdAcks(3, 1, queue.Durable, 5, 21)
	commit(t, d, b)
	check(queue.Durable, 0, 100, IDRange{30, 31})
	check(queue.Spill, 0, 100, IDRange{10, 20})
}

func TestDecodeColdRangeCorrupt(t *testing.T) {
	key := laneKey(prefixColdRange, 3, 1, 10)
	for name, c := range map[string]struct{ key, val []byte }{
		"short key":   {key[:17], []byte{0, 0, 0, 0, 0, 0, 0, 20}},
		"short value": {key, []byte{0, 0, 0, 20}},
		"empty range": {key, []byte{0, 0, 0, 0, 0, 0, 0, 10}},
		"backwards":   {key, []byte{0, 0, 0, 0, 0, 0, 0, 9}},
	} {
		if _, err := decodeColdRange(c.key, c.val); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzDecodeColdRange(f *testing.F) {
	f.Add(laneKey(prefixColdRange, 3, 1, 10), []byte{0, 0, 0, 0, 0, 0, 0, 20})
	f.Fuzz(func(t *testing.T, key, val []byte) {
		r, err := decodeColdRange(key, val)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if r.To <= r.From || r.From != msgIDOf(key) {
			t.Fatalf("decodeColdRange(%x, %x) = %+v", key, val, r)
		}
	})
}

func TestIntents(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	b := d.NewBatch()
	b.PutIntent(IntentUpload, "n/b")
	b.PutIntent(IntentUpload, "n/a")
	b.PutIntent(IntentDelete, "n/c")
	commit(t, d, b)
	b = d.NewBatch()
	b.DeleteIntent(IntentUpload, "n/b")
	b.PutIntent(IntentDelete, "n/b")
	commit(t, d, b)
	if got, err := d.Intents(IntentUpload); err != nil || !slices.Equal(got, []string{"n/a"}) {
		t.Fatalf("upload intents %q %v", got, err)
	}
	if got, err := d.Intents(IntentDelete); err != nil || !slices.Equal(got, []string{"n/b", "n/c"}) {
		t.Fatalf("delete intents %q %v", got, err)
	}
}

// tierKeys counts the keys of each tier prefix, to see what a delete or a
// recovery left.
func tierKeys(t *testing.T, d *DB) map[byte]int {
	t.Helper()
	out := map[byte]int{}
	for _, p := range []byte{prefixSegment, prefixSpillSegment, prefixColdAck, prefixSpillColdAck,
		prefixColdRange, prefixSpillRange, prefixUploadIntent, prefixDeleteIntent, prefixSpill} {
		if err := d.scan(p, func([]byte, []byte) error { out[p]++; return nil }); err != nil {
			t.Fatal(err)
		}
		if out[p] == 0 {
			delete(out, p)
		}
	}
	return out
}

func TestDeleteQueueTierKeys(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	b := d.NewBatch()
	for _, q := range []storage.QueueID{3, 4} {
		for _, kind := range []queue.Stored{queue.Durable, queue.Spill} {
			s := seg(q, 1, kind, 10, 20)
			b.PutSegment(&s)
			b.PutColdAck(q, 1, kind, 11)
			b.PutColdAckRange(q, 1, kind, 12, 15)
		}
	}
	commit(t, d, b)
	b = d.NewBatch()
	b.DeleteQueue(3)
	commit(t, d, b)
	want := map[byte]int{'g': 1, 'u': 1, 'c': 1, 'x': 1, 'r': 1, 'y': 1}
	if got := tierKeys(t, d); !reflect.DeepEqual(got, want) {
		t.Fatalf("after deleting queue 3: %v, want queue 4's keys only %v", got, want)
	}
	b = d.NewBatch()
	b.DeleteSegment(4, 1, queue.Spill, 10)
	commit(t, d, b)
	if got := tierKeys(t, d); got['u'] != 0 || got['g'] != 1 {
		t.Fatalf("DeleteSegment of the transient entry left %v", got)
	}
}

// TestRecoverTier checks the startup rules of TIERING.md §5: upload
// intents and transient segments become delete intents, the transient
// ranges go, live durable segments come back with their queue, and dead
// ones (no queue, lane not in the meta, below the floor) become delete
// intents with their cold acks gone.
func TestRecoverTier(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs)
	nid := d.NodeID()
	spec := storage.QueueSpec{ID: 3, Name: "q", Durable: true}
	meta := queue.Meta{NextID: 100, Lanes: []queue.LaneMeta{{Lane: 1, Floor: 10, Count: 5, Bytes: 5}}}
	liveSeg := seg(3, 1, queue.Durable, 10, 20)
	below := seg(3, 1, queue.Durable, 5, 9)
	noLane := seg(3, 2, queue.Durable, 1, 3)
	noQueue := seg(99, 1, queue.Durable, 1, 3)
	spill := seg(3, 1, queue.Spill, 21, 30)
	b := d.NewBatch()
	b.PutSpec(&spec)
	b.PutMeta(3, &meta)
	for _, s := range []*Segment{&liveSeg, &below, &noLane, &noQueue, &spill} {
		b.PutSegment(s)
	}
	b.PutColdAck(3, 1, queue.Durable, 6)  // in below: goes with it
	b.PutColdAck(3, 1, queue.Durable, 12) // in liveSeg: stays
	b.PutColdAck(3, 1, queue.Spill, 22)
	b.PutColdAckRange(3, 1, queue.Durable, 7, 9)   // in below: goes with it
	b.PutColdAckRange(3, 1, queue.Durable, 15, 19) // in liveSeg: stays
	b.PutColdAckRange(3, 1, queue.Spill, 25, 28)
	b.PutMessage(3, 1, &queue.Entry{ID: 40, Msg: msg("s"), Stored: queue.Spill})
	b.PutIntent(IntentUpload, "up/1")
	b.PutIntent(IntentDelete, "del/1")
	commit(t, d, b)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = openMem(t, fs)
	defer d.Close()
	for round := range 2 { // a second recovery changes nothing
		rec, err := d.Recover()
		if err != nil {
			t.Fatal(err)
		}
		if len(rec) != 1 || !reflect.DeepEqual(rec[0].Segments, []Segment{liveSeg}) {
			t.Fatalf("round %d: recovered %+v, want queue 3 with %+v", round, rec, liveSeg)
		}
		want := []string{below.ObjectKey(nid), noLane.ObjectKey(nid), noQueue.ObjectKey(nid), spill.ObjectKey(nid), "del/1", "up/1"}
		slices.Sort(want)
		if got, err := d.Intents(IntentDelete); err != nil || !slices.Equal(got, want) {
			t.Fatalf("round %d: delete intents %q, %v; want %q", round, got, err, want)
		}
		if got, want := tierKeys(t, d), map[byte]int{'g': 1, 'c': 1, 'r': 1, 'z': 6}; !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: keys left %v, want %v", round, got, want)
		}
	}
	if got, _ := d.ColdAcks(3, 1, queue.Durable, 0, 100, nil); !slices.Equal(got, []storage.MsgID{12}) {
		t.Fatalf("cold acks after recovery %v, want [12]", got)
	}
}

// TestRecoverCorruptSegment checks that a corrupt table entry fails the
// recovery and changes nothing: the node must not start without the
// table, and a half-applied recovery would lose intents.
func TestRecoverCorruptSegment(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	b := d.NewBatch()
	b.PutIntent(IntentUpload, "up/1")
	commit(t, d, b)
	s := seg(3, 1, queue.Durable, 10, 20)
	if err := d.Pebble().Set(segmentKey(&s), []byte{segmentVersion, 1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Recover(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Recover err = %v, want ErrCorrupt", err)
	}
	if got, _ := d.Intents(IntentUpload); !slices.Equal(got, []string{"up/1"}) {
		t.Fatalf("a failed Recover changed the intents: upload %q", got)
	}
}

func FuzzDecodeSegmentEntry(f *testing.F) {
	s := seg(3, 1, queue.Durable, 10, 20)
	f.Add(segmentKey(&s), appendSegment(nil, &s))
	s = seg(3, 1, queue.Spill, 1, 1)
	f.Add(segmentKey(&s), appendSegment(nil, &s))
	f.Fuzz(func(t *testing.T, key, val []byte) {
		s, err := decodeSegment(key, val)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again, err := decodeSegment(segmentKey(&s), appendSegment(nil, &s))
		if err != nil || again != s {
			t.Fatalf("re-encoding %+v gave %+v, %v", s, again, err)
		}
		if _, p, err := ParseObjectKey(s.ObjectKey(1)); err != nil || p.First != s.First || p.Seq != s.Seq {
			t.Fatalf("object key of a decoded entry does not parse: %v", err)
		}
	})
}

func FuzzParseObjectKey(f *testing.F) {
	s := seg(0x2a, 3, queue.Durable, 0x100, 0x1ff)
	f.Add(s.ObjectKey(0xfeed))
	f.Add("0000000000000001/000000000000002a/200/t0000000000000100-0-0")
	f.Fuzz(func(t *testing.T, key string) {
		nid, s, err := ParseObjectKey(key)
		if err == nil && s.ObjectKey(nid) != key {
			t.Fatalf("ParseObjectKey(%q) accepted a key it does not produce", key)
		}
	})
}

func FuzzDecodeNodeID(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, v []byte) {
		if id, err := decodeNodeID(v); err == nil && len(v) != 8 || err != nil && id != 0 {
			t.Fatalf("decodeNodeID(%x) = %x, %v", v, id, err)
		}
	})
}
