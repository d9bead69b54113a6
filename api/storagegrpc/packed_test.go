package storagegrpc

import (
	"reflect"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

func samplePublishes() []storage.Publish {
	return []storage.Publish{
		{Queues: []storage.QueueID{1}, Msg: &storage.Message{Exchange: "ex", RoutingKey: "rk",
			Properties: []byte{0x90, 0, 2}, Body: []byte("hello"), Persistent: true, Priority: 9, TTL: -1}},
		{Queues: []storage.QueueID{2, 1 << 40, 3}, Msg: &storage.Message{Body: make([]byte, 70_000), TTL: 1500}},
		{Queues: []storage.QueueID{4}, Msg: &storage.Message{RoutingKey: "empty body", TTL: 0}},
	}
}

func TestPackedPublishesRoundTrip(t *testing.T) {
	in := samplePublishes()
	out, err := unpackPublishes(packPublishes(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the batch:\n in  %+v\n out %+v", in, out)
	}
	if out, err := unpackPublishes(packPublishes(nil, nil)); err != nil || len(out) != 0 {
		t.Fatalf("empty batch: %v, %v", out, err)
	}
}

// Every cut of a packed batch, and a trailing byte, is refused, not misread.
func TestPackedPublishesRefusesDamage(t *testing.T) {
	buf := packPublishes(nil, samplePublishes())
	for n := range len(buf) {
		if _, err := unpackPublishes(buf[:n]); err == nil {
			t.Fatalf("a batch cut to %d of %d bytes was accepted", n, len(buf))
		}
	}
	if _, err := unpackPublishes(append(buf, 0)); err == nil {
		t.Fatal("a trailing byte was accepted")
	}
}

func FuzzUnpackPublishes(f *testing.F) {
	f.Add(packPublishes(nil, samplePublishes()))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, buf []byte) {
		batch, err := unpackPublishes(buf)
		if err != nil {
			return
		}
		again, err := unpackPublishes(packPublishes(nil, batch))
		if err != nil || !reflect.DeepEqual(normalized(batch), normalized(again)) {
			t.Fatalf("a decoded batch does not survive a round trip: %v", err)
		}
	})
}

// normalized treats nil and empty byte fields alike, as the layout does.
func normalized(b []storage.Publish) []storage.Publish {
	for _, p := range b {
		if len(p.Msg.Properties) == 0 {
			p.Msg.Properties = nil
		}
		if len(p.Msg.Body) == 0 {
			p.Msg.Body = nil
		}
	}
	return b
}

func BenchmarkPackedPublishes(b *testing.B) {
	batch := make([]storage.Publish, 100)
	body := make([]byte, 1024)
	for i := range batch {
		batch[i] = storage.Publish{Queues: []storage.QueueID{1}, Msg: &storage.Message{RoutingKey: "q", Properties: []byte{0x10, 0, 2}, Body: body, Persistent: true, TTL: -1}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unpackPublishes(packPublishes(nil, batch)); err != nil {
			b.Fatal(err)
		}
	}
}

func sampleDeliveries() []storage.Delivery {
	pubs := samplePublishes()
	return []storage.Delivery{
		{Tag: "ctag-1", Queue: 1, ID: 7, Msg: pubs[0].Msg},
		{Tag: "ctag-1", Queue: 1, ID: 9, Redelivered: true, Msg: pubs[1].Msg},
		{Tag: "", Queue: 1 << 40, ID: 1 << 50, Msg: pubs[2].Msg}, // a basic.get
	}
}

func TestPackedDeliveriesRoundTrip(t *testing.T) {
	in := sampleDeliveries()
	buf := packDeliveries(nil, in)
	out, err := unpackDeliveries(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the deliveries:\n in  %+v\n out %+v", in, out)
	}
	for n := range len(buf) {
		if _, err := unpackDeliveries(buf[:n]); err == nil {
			t.Fatalf("deliveries cut to %d of %d bytes were accepted", n, len(buf))
		}
	}
}

func FuzzUnpackDeliveries(f *testing.F) {
	f.Add(packDeliveries(nil, sampleDeliveries()))
	f.Fuzz(func(t *testing.T, buf []byte) {
		batch, err := unpackDeliveries(buf)
		if err != nil {
			return
		}
		again, err := unpackDeliveries(packDeliveries(nil, batch))
		if err != nil || len(again) != len(batch) {
			t.Fatalf("decoded deliveries do not survive a round trip: %v", err)
		}
	})
}

func sampleSettles() []storage.Settle {
	return []storage.Settle{
		{Queue: 1, ID: 7, Kind: storage.Ack},
		{Queue: 1 << 40, ID: 1<<63 + 5, Kind: storage.Requeue},
		{Queue: 3, ID: 0, Kind: storage.Reject},
	}
}

func TestPackedSettlesRoundTrip(t *testing.T) {
	in := sampleSettles()
	buf := packSettles(nil, in)
	out, err := unpackSettles(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the settlements:\n in  %+v\n out %+v", in, out)
	}
	for n := 1; n < len(buf); n++ {
		if _, err := unpackSettles(buf[:n]); err == nil {
			t.Fatalf("settlements cut to %d of %d bytes were accepted", n, len(buf))
		}
	}
	if _, err := unpackSettles(append(buf, 0)); err == nil {
		t.Fatal("a trailing byte was accepted")
	}
}

func FuzzUnpackSettles(f *testing.F) {
	f.Add(packSettles(nil, sampleSettles()))
	f.Fuzz(func(t *testing.T, buf []byte) {
		ops, err := unpackSettles(buf)
		if err != nil {
			return
		}
		again, err := unpackSettles(packSettles(nil, ops))
		if err != nil || len(again) != len(ops) || len(ops) > 0 && !reflect.DeepEqual(again, ops) {
			t.Fatalf("decoded settlements do not survive a round trip: %v", err)
		}
	})
}
