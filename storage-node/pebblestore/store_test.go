package pebblestore

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

func openMem(t *testing.T, fs vfs.FS) *DB {
	t.Helper()
	d, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func commit(t *testing.T, d *DB, b *Batch) {
	t.Helper()
	if err := d.Pebble().Apply(b.Pebble(), pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func msg(body string) *storage.Message {
	return &storage.Message{Exchange: "ex", RoutingKey: "rk", Properties: []byte{0x10, 0, 2}, Body: []byte(body), Persistent: true, Priority: 3, TTL: -1}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, m := range []*storage.Message{
		msg("hello"),
		{TTL: 5},
		{Exchange: string(make([]byte, 300)), Body: make([]byte, 70000), TTL: -1},
	} {
		b := appendRecord(nil, m, 1234567)
		if len(b) != recordSize(m, 1234567) {
			t.Fatalf("size %d, recordSize %d", len(b), recordSize(m, 1234567))
		}
		got, exp, err := decodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		if exp != 1234567 || got.Exchange != m.Exchange || got.RoutingKey != m.RoutingKey ||
			string(got.Properties) != string(m.Properties) || string(got.Body) != string(m.Body) ||
			got.Persistent != m.Persistent || got.Priority != m.Priority || got.TTL != m.TTL {
			t.Fatalf("round trip: got %+v want %+v", got, m)
		}
		b[len(b)-1] ^= 0xff // the decoded message must not alias the input
		if len(m.Body) > 0 && got.Body[len(got.Body)-1] == b[len(b)-1] {
			t.Fatal("decoded body aliases the record")
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := appendRecord(nil, msg("x"), 0)
	for i := range len(good) - 1 {
		if _, _, err := decodeRecord(good[:i]); err == nil && i < 6 {
			t.Fatalf("truncated to %d bytes: no error", i)
		} else if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
	}
	if _, err := decodeMeta([]byte{1, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}); err == nil {
		t.Fatal("meta with absurd lane count decoded")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, msg("body"), 99))
	f.Add(appendMeta(nil, &queue.Meta{NextID: 9, Lanes: []queue.LaneMeta{{Lane: 1, Floor: 2, Count: 3, Bytes: 4}}}))
	f.Add(appendOutbox(nil, &OutboxEntry{DL: storage.DeadLetter{Queue: 7, VHost: "/", RoutingKeys: []string{"a"}, Msg: msg("b")}}))
	f.Add(outboxV1("/", "dlx", []string{"a"}, msg("b")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, _, err := decodeRecord(b); err == nil {
			again, _, err := decodeRecord(appendRecord(nil, m, 0))
			if err != nil || string(again.Body) != string(m.Body) {
				t.Fatalf("re-encoding a decoded record failed: %v", err)
			}
		}
		_, _ = decodeMeta(b)
		if e, err := decodeOutbox(1, b); err == nil {
			again, err := decodeOutbox(1, appendOutbox(nil, &e))
			if err != nil || again.DL.Queue != e.DL.Queue || again.DL.VHost != e.DL.VHost ||
				again.DL.Exchange != e.DL.Exchange || !slices.Equal(again.DL.RoutingKeys, e.DL.RoutingKeys) {
				t.Fatalf("re-encoding outbox entry %+v gave %+v, %v", e.DL, again.DL, err)
			}
		}
	})
}

// outboxV1 is an outbox value as written before dead letters named their
// source queue (version 1), byte by byte.
func outboxV1(vhost, exchange string, keys []string, m *storage.Message) []byte {
	b := []byte{1, 1, 3} // version, flags (durable), boot 3
	b = append(append(b, byte(len(vhost))), vhost...)
	b = append(append(b, byte(len(exchange))), exchange...)
	b = append(b, byte(len(keys)))
	for _, k := range keys {
		b = append(append(b, byte(len(k))), k...)
	}
	return appendRecord(b, m, 0)
}

// TestOutboxVersion1 checks entries written before the source queue was
// recorded still decode, with queue 0: the default instance routes them,
// as it routed every dead letter then.
func TestOutboxVersion1(t *testing.T) {
	e, err := decodeOutbox(5, outboxV1("v", "dlx", []string{"a", "b"}, msg("old")))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 5 || !e.Durable || e.Boot != 3 || e.DL.Queue != 0 || e.DL.VHost != "v" ||
		e.DL.Exchange != "dlx" || !slices.Equal(e.DL.RoutingKeys, []string{"a", "b"}) || string(e.DL.Msg.Body) != "old" {
		t.Fatalf("version 1 entry read as %+v", e)
	}
	if _, err := decodeOutbox(5, append([]byte{3}, outboxV1("v", "", nil, msg("x"))[1:]...)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unknown version: %v", err)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := queue.Meta{NextID: 1 << 40, DHW: 77, Expiries: true, Lanes: []queue.LaneMeta{{Lane: 0, Floor: 5, Count: 2, Bytes: 10}, {Lane: 255, Floor: 1, Count: 1, Bytes: 0}}}
	got, err := decodeMeta(appendMeta(nil, &m))
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("got %+v, %v; want %+v", got, err, m)
	}
}

// TestLoadMerges checks that Load interleaves durable and spilled records
// of a lane in ID order, honours bounds, kinds and limits, and leaves other
// lanes and queues alone.
func TestLoadMerges(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	b := d.NewBatch()
	for id := storage.MsgID(1); id <= 10; id++ {
		kind := queue.Durable
		if id%3 == 0 {
			kind = queue.Spill
		}
		b.PutMessage(7, 2, &queue.Entry{ID: id, Msg: msg(fmt.Sprint(id)), Stored: kind, Expiry: int64(id)})
	}
	b.PutMessage(7, 1, &queue.Entry{ID: 4, Msg: msg("other lane"), Stored: queue.Durable})
	b.PutMessage(8, 2, &queue.Entry{ID: 4, Msg: msg("other queue"), Stored: queue.Spill})
	commit(t, d, b)

	both := queue.StoredMask(1<<queue.Durable | 1<<queue.Spill)
	cases := []struct {
		from, to storage.MsgID
		kinds    queue.StoredMask
		max      int
		maxBytes int64
		want     string
	}{
		{1, 11, both, 100, 1 << 20, "1d 2d 3s 4d 5d 6s 7d 8d 9s 10d"},
		{4, 9, both, 100, 1 << 20, "4d 5d 6s 7d 8d"},
		{1, 11, 1 << queue.Spill, 100, 1 << 20, "3s 6s 9s"},
		{1, 11, 1 << queue.Durable, 3, 1 << 20, "1d 2d 4d"},
		{2, 11, both, 100, 2, "2d 3s"}, // stops once 2 body bytes are read
		{5, 6, both, 100, 1, "5d"},
	}
	for _, c := range cases {
		got, err := d.Load(7, 2, c.from, c.to, c.kinds, c.max, c.maxBytes, nil)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		for i, e := range got {
			if i > 0 {
				s += " "
			}
			s += fmt.Sprintf("%d%c", e.ID, e.Stored.String()[0])
			if string(e.Msg.Body) != fmt.Sprint(e.ID) || e.Expiry != int64(e.ID) {
				t.Fatalf("entry %d: body %q expiry %d", e.ID, e.Msg.Body, e.Expiry)
			}
		}
		if s != c.want {
			t.Errorf("Load(%d,%d,%b,%d,%d) = %q, want %q", c.from, c.to, c.kinds, c.max, c.maxBytes, s, c.want)
		}
	}
}

// TestRecoverDropsTransient checks that a restart keeps durable queues,
// their meta and durable records, and drops every spilled record and the
// data of deleted queues.
func TestRecoverDropsTransient(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs)
	b := d.NewBatch()
	spec := storage.QueueSpec{ID: 3, VHost: "/", Name: "q", Durable: true, MessageTTL: -1, Expires: -1, MaxLength: -1, MaxLengthBytes: -1, MaxPriority: 2}
	b.PutSpec(&spec)
	meta := queue.Meta{NextID: 9, DHW: 4, Lanes: []queue.LaneMeta{{Lane: 1, Floor: 2, Count: 1, Bytes: 1}}}
	b.PutMeta(3, &meta)
	b.PutMessage(3, 1, &queue.Entry{ID: 2, Msg: msg("d"), Stored: queue.Durable})
	b.PutMessage(3, 1, &queue.Entry{ID: 5, Msg: msg("s"), Stored: queue.Spill})
	gone := storage.QueueSpec{ID: 4, Name: "gone", Durable: true}
	b.PutSpec(&gone)
	b.PutMessage(4, 0, &queue.Entry{ID: 1, Msg: msg("x"), Stored: queue.Durable})
	commit(t, d, b)
	b = d.NewBatch()
	b.DeleteQueue(4)
	commit(t, d, b)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = openMem(t, fs)
	defer d.Close()
	rec, err := d.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != 1 || !reflect.DeepEqual(rec[0].Spec, spec) || !reflect.DeepEqual(rec[0].Meta, meta) {
		t.Fatalf("recovered %+v", rec)
	}
	all := queue.StoredMask(1<<queue.Durable | 1<<queue.Spill)
	got, _ := d.Load(3, 1, 0, 100, all, 100, 1<<20, nil)
	if len(got) != 1 || got[0].ID != 2 || got[0].Stored != queue.Durable {
		t.Fatalf("after recovery lane holds %+v, want only durable id 2", got)
	}
	if got, _ := d.Load(4, 0, 0, 100, all, 100, 1<<20, nil); len(got) != 0 {
		t.Fatalf("deleted queue still has %d records", len(got))
	}
}

func TestOutbox(t *testing.T) {
	d := openMem(t, vfs.NewMem())
	defer d.Close()
	if end, err := d.OutboxEnd(2); err != nil || end != 1 {
		t.Fatalf("empty outbox end %d %v", end, err)
	}
	b := d.NewBatch()
	for seq := uint64(1); seq <= 5; seq++ {
		b.PutOutbox(2, &OutboxEntry{Seq: seq, Durable: seq%2 == 0, Boot: 3, DL: storage.DeadLetter{
			Queue: storage.QueueID(1<<40 + seq), VHost: "v", Exchange: "dlx", RoutingKeys: []string{"a", fmt.Sprint(seq)}, Msg: msg(fmt.Sprint(seq)),
		}})
	}
	b.PutOutbox(7, &OutboxEntry{Seq: 9, DL: storage.DeadLetter{Msg: msg("other shard")}})
	commit(t, d, b)
	b = d.NewBatch()
	b.DeleteOutbox(2, 1)
	b.DeleteOutbox(2, 2)
	commit(t, d, b)
	got, err := d.ReadOutbox(2, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 3 || got[1].Seq != 4 || got[0].Durable || !got[1].Durable ||
		got[1].Boot != 3 || got[1].DL.Queue != 1<<40+4 || got[1].DL.VHost != "v" || got[1].DL.Exchange != "dlx" || !reflect.DeepEqual(got[1].DL.RoutingKeys, []string{"a", "4"}) ||
		string(got[1].DL.Msg.Body) != "4" {
		t.Fatalf("outbox read %+v", got)
	}
	if end, _ := d.OutboxEnd(2); end != 6 {
		t.Fatalf("outbox end %d, want 6", end)
	}
	if sh, err := d.OutboxShards(); err != nil || !reflect.DeepEqual(sh, []uint8{2, 7}) {
		t.Fatalf("outbox shards %v %v", sh, err)
	}
}
