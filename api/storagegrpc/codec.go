package storagegrpc

import (
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/warrenmq/warren/api/storagepb"
)

// codec is gRPC's proto codec, except that the packed batches of the two
// hot streams are not copied once more by protobuf's decode: a client's
// sessionFrame keeps deliveries in a pooled buffer (their copy was a
// gateway's largest allocation, and its garbage ran the gateway's GC dozens
// of times a second), and a server's appendFrame joins gRPC's frame buffers
// straight into the allocation the node's messages live in. The encoding
// is protobuf's; the name "proto" is the content-subtype a peer without
// this codec resolves to its own protobuf codec.
type codec struct{ proto encoding.CodecV2 }

var storageCodec = codec{proto: encoding.GetCodecV2(grpcproto.Name)}

func (c codec) Name() string { return grpcproto.Name }

func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch f := v.(type) {
	case *sessionFrame:
		return f.unmarshal(data)
	case *appendFrame:
		return f.unmarshal(data)
	}
	return c.proto.Unmarshal(data, v)
}

// sessionFrame is what a client session receives a SessionEvent into. An
// event of deliveries sets packed, which points into buf, a pooled buffer
// held until release; any other event is decoded into ev.
type sessionFrame struct {
	ev     pb.SessionEvent
	packed []byte
	buf    mem.Buffer
}

// The field numbers of SessionEvent.deliveries, Deliveries.packed and
// AppendRequest.publishes.
var (
	deliveriesField = fieldNumber((&pb.SessionEvent{}).ProtoReflect(), "deliveries")
	packedField     = fieldNumber((&pb.SessionEvent_Deliveries{}).ProtoReflect(), "packed")
	publishesField  = fieldNumber((&pb.AppendRequest{}).ProtoReflect(), "publishes")
)

func fieldNumber(m protoreflect.Message, name protoreflect.Name) protowire.Number {
	return m.Descriptor().Fields().ByName(name).Number()
}

func (f *sessionFrame) unmarshal(data mem.BufferSlice) error {
	f.release()
	f.ev.Reset()
	// gRPC hands a message over in its HTTP/2 frames' buffers, 16 KiB
	// each: a batch larger than that is joined into one pooled buffer. A
	// message in one buffer is that buffer, with a reference of our own
	// (gRPC frees its reference when the codec returns).
	buf := data.MaterializeToBuffer(sharedPool)
	if packed, ok := packedDeliveries(buf.ReadOnlyData()); ok {
		f.buf, f.packed = buf, packed
		return nil
	}
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), &f.ev) // copies what it keeps
}

// release gives the receive buffer back once nothing points into it.
func (f *sessionFrame) release() {
	if f.buf != nil {
		f.buf.Free()
	}
	f.buf, f.packed = nil, nil
}

// packedDeliveries is the packed field of b when b encodes a SessionEvent
// that holds Deliveries and nothing else, in the one way a node encodes it.
func packedDeliveries(b []byte) ([]byte, bool) {
	inner, ok := onlyBytesField(b, deliveriesField)
	if !ok {
		return nil, false
	}
	return onlyBytesField(inner, packedField)
}

// onlyBytesField is the value of field num when b holds that bytes field
// alone.
func onlyBytesField(b []byte, num protowire.Number) ([]byte, bool) {
	n, typ, taglen := protowire.ConsumeTag(b)
	if taglen < 0 || n != num || typ != protowire.BytesType {
		return nil, false
	}
	v, vlen := protowire.ConsumeBytes(b[taglen:])
	if vlen < 0 || taglen+vlen != len(b) {
		return nil, false
	}
	return v, true
}

// appendFrame is what a server receives an AppendRequest into.
type appendFrame struct {
	publishes []byte // packed; the unpacked messages point into it
}

func (f *appendFrame) unmarshal(data mem.BufferSlice) error {
	b := make([]byte, data.Len())
	data.CopyTo(b)
	if publishes, ok := onlyBytesField(b, publishesField); ok {
		f.publishes = publishes
		return nil
	}
	var req pb.AppendRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return err
	}
	f.publishes = req.GetPublishes()
	return nil
}
