package storagegrpc

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/warrenmq/warren/api/storage"
	pb "github.com/warrenmq/warren/api/storagepb"
)

// recordingPool counts the buffers given back to it.
type recordingPool struct{ puts int }

func (p *recordingPool) Get(size int) *[]byte { b := make([]byte, size); return &b }
func (p *recordingPool) Put(*[]byte)          { p.puts++ }

// received is ev as gRPC hands it to a codec: in one pooled buffer.
func received(t *testing.T, ev *pb.SessionEvent, pool mem.BufferPool) mem.Buffer {
	t.Helper()
	b, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, len(b), max(len(b), 4096)) // above gRPC's pooling threshold
	copy(data, b)
	return mem.NewBuffer(&data, pool)
}

func deliveriesEvent(batch []storage.Delivery) *pb.SessionEvent {
	return &pb.SessionEvent{Event: &pb.SessionEvent_Deliveries_{
		Deliveries: &pb.SessionEvent_Deliveries{Packed: packDeliveries(nil, batch)}}}
}

func TestSessionFrameKeepsDeliveriesInTheReceiveBuffer(t *testing.T) {
	sent := []storage.Delivery{
		{Tag: "c1", Queue: 3, ID: 10, Msg: &storage.Message{RoutingKey: "q", Body: bytes.Repeat([]byte("x"), 600), TTL: -1}},
		{Tag: "c1", Queue: 3, ID: 11, Redelivered: true, Msg: &storage.Message{Exchange: "e", Body: []byte("y"), TTL: -1}},
	}
	pool := &recordingPool{}
	buf := received(t, deliveriesEvent(sent), pool)
	var f sessionFrame
	if err := storageCodec.Unmarshal(mem.BufferSlice{buf}, &f); err != nil {
		t.Fatal(err)
	}
	raw := buf.ReadOnlyData()
	buf.Free() // what gRPC does once the codec returns
	if pool.puts != 0 {
		t.Fatal("the receive buffer went back to the pool while the frame points into it")
	}
	if len(f.packed) == 0 || &f.packed[len(f.packed)-1] != &raw[len(raw)-1] {
		t.Fatal("the packed deliveries were copied out of the receive buffer")
	}
	got, err := unpackDeliveries(f.packed)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].ID != 11 || !got[1].Redelivered || !bytes.Equal(got[0].Msg.Body, sent[0].Msg.Body) {
		t.Fatalf("unpacked %+v", got)
	}
	f.release()
	if pool.puts != 1 {
		t.Fatalf("release gave %d buffers back, want 1", pool.puts)
	}
}

// Events other than a plain batch of deliveries are decoded as protobuf
// and hold no buffer.
func TestSessionFrameDecodesOtherEvents(t *testing.T) {
	reply := &pb.SessionEvent{Event: &pb.SessionEvent_Reply_{Reply: &pb.SessionEvent_Reply{Id: 7, Ok: true, Remaining: 3}}}
	withUnknown := deliveriesEvent([]storage.Delivery{{Tag: "c", Msg: &storage.Message{TTL: -1}}})
	extra := protowire.AppendTag(nil, 99, protowire.VarintType)
	withUnknown.ProtoReflect().SetUnknown(protowire.AppendVarint(extra, 1))
	for name, ev := range map[string]*pb.SessionEvent{"reply": reply, "deliveries and an unknown field": withUnknown} {
		t.Run(name, func(t *testing.T) {
			pool := &recordingPool{}
			buf := received(t, ev, pool)
			var f sessionFrame
			if err := storageCodec.Unmarshal(mem.BufferSlice{buf}, &f); err != nil {
				t.Fatal(err)
			}
			buf.Free()
			if f.packed != nil || f.buf != nil || pool.puts != 1 {
				t.Fatalf("frame kept the buffer: packed %v, buf %v, puts %d", f.packed != nil, f.buf != nil, pool.puts)
			}
			if !proto.Equal(&f.ev, ev) {
				t.Fatalf("decoded %v, want %v", &f.ev, ev)
			}
		})
	}
}

// A message gRPC hands over in several buffers (one per HTTP/2 frame) is
// joined into one buffer that the frame keeps until release.
func TestSessionFrameJoinsASplitMessage(t *testing.T) {
	sent := []storage.Delivery{{Tag: "c", ID: 4, Msg: &storage.Message{Body: bytes.Repeat([]byte("z"), 40<<10), TTL: -1}}}
	b, err := proto.Marshal(deliveriesEvent(sent))
	if err != nil {
		t.Fatal(err)
	}
	var f sessionFrame
	data := mem.BufferSlice{mem.SliceBuffer(b[:16<<10]), mem.SliceBuffer(b[16<<10 : 32<<10]), mem.SliceBuffer(b[32<<10:])}
	if err := storageCodec.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.packed == nil || f.buf == nil {
		t.Fatal("a message in three buffers was decoded as protobuf, copying the deliveries out")
	}
	clear(b) // gRPC reuses its frame buffers
	got, err := unpackDeliveries(f.packed)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Msg.Body, sent[0].Msg.Body) {
		t.Fatalf("unpacked %d deliveries, err %v; the body did not survive", len(got), err)
	}
	f.release()
}

// A server takes an append's packed publishes as one allocation of its own,
// joined from gRPC's frame buffers, and still reads a request that carries
// more than the publishes.
func TestAppendFrameTakesThePublishes(t *testing.T) {
	packed := packPublishes(nil, samplePublishes())
	plain, err := proto.Marshal(&pb.AppendRequest{Publishes: packed})
	if err != nil {
		t.Fatal(err)
	}
	extended := protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), plain...), 99, protowire.VarintType), 1)
	for name, b := range map[string][]byte{"plain": plain, "with an unknown field": extended} {
		t.Run(name, func(t *testing.T) {
			var f appendFrame
			half := len(b) / 2
			frames := mem.BufferSlice{mem.SliceBuffer(b[:half]), mem.SliceBuffer(b[half:])}
			if err := storageCodec.Unmarshal(frames, &f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.publishes, packed) {
				t.Fatal("the publishes differ from those sent")
			}
			clear(b) // gRPC reuses its frame buffers
			if !bytes.Equal(f.publishes, packed) {
				t.Fatal("the publishes point into gRPC's frame buffers")
			}
		})
	}
}
