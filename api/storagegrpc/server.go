package storagegrpc

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/warrenmq/warren/api/rpcerr"
	"github.com/warrenmq/warren/api/storage"
	pb "github.com/warrenmq/warren/api/storagepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/status"
)

// sendQueue bounds the events waiting to go out on one session stream. The
// node's deliveries are bounded by credit and replies by requests, so a full
// queue means the gateway is not reading: the session goroutine then waits.
const sendQueue = 4096

// MaxMessageBytes bounds one gRPC message: a batch or a delivery carries
// AMQP messages of up to 512 MiB (RabbitMQ's hard cap), far above gRPC's
// 4 MiB default.
const MaxMessageBytes = 512<<20 + 1<<20

// Flow-control windows. A batch of appends or deliveries is often larger
// than HTTP/2's 64 KiB default, which would cost a window update round
// trip per batch; fixed windows also turn off gRPC's BDP probing pings.
const (
	streamWindow = 8 << 20
	connWindow   = 32 << 20
)

// ServerOptions are the grpc.Server options a Storage server needs.
func ServerOptions() []grpc.ServerOption {
	useBufferPool()
	return []grpc.ServerOption{experimental.BufferPool(sharedPool), grpc.ForceServerCodecV2(storageCodec),
		grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(connWindow)}
}

// DialOptions are the grpc.ClientConn options a Storage client needs.
func DialOptions() []grpc.DialOption {
	useBufferPool()
	return []grpc.DialOption{experimental.WithBufferPool(sharedPool), grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
		grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(connWindow)}
}

// Server exposes a storage.Node as the Storage gRPC service.
type Server struct {
	pb.UnimplementedStorageServer
	node storage.Node
}

// NewServer serves node. Its grpc.Server must have ServerOptions, whose
// codec reads the Appends stream's requests.
func NewServer(node storage.Node) *Server { return &Server{node: node} }

func (s *Server) CreateQueue(ctx context.Context, r *pb.CreateQueueRequest) (*pb.Empty, error) {
	return &pb.Empty{}, rpcerr.ToStatus(s.node.CreateQueue(ctx, fromPBSpec(r.GetSpec())))
}

func (s *Server) DeleteQueue(ctx context.Context, r *pb.DeleteQueueRequest) (*pb.Count, error) {
	n, err := s.node.DeleteQueue(ctx, storage.QueueID(r.GetQueue()), r.GetIfUnused(), r.GetIfEmpty())
	return &pb.Count{Count: n}, rpcerr.ToStatus(err)
}

func (s *Server) PurgeQueue(ctx context.Context, r *pb.QueueRef) (*pb.Count, error) {
	n, err := s.node.PurgeQueue(ctx, storage.QueueID(r.GetQueue()))
	return &pb.Count{Count: n}, rpcerr.ToStatus(err)
}

func (s *Server) Stats(ctx context.Context, r *pb.QueueRef) (*pb.QueueStats, error) {
	st, err := s.node.Stats(ctx, storage.QueueID(r.GetQueue()))
	return toPBStats(st), rpcerr.ToStatus(err)
}

func (s *Server) Touch(ctx context.Context, r *pb.QueueRef) (*pb.Empty, error) {
	return &pb.Empty{}, rpcerr.ToStatus(s.node.Touch(ctx, storage.QueueID(r.GetQueue())))
}

// appendsInFlight bounds the batches of one Appends stream the node works
// on at once; past it the stream stops reading, which pushes back on the
// gateway through flow control.
const appendsInFlight = 64

// Appends applies the stream's batches in the order received and answers
// each in that order once durable. Reading and answering are two
// goroutines, so the next batches are queued on the node (and share its
// fsync) while the earlier ones wait for the disk.
func (s *Server) Appends(stream pb.Storage_AppendsServer) error {
	waits := make(chan func() ([]storage.Outcome, error), appendsInFlight)
	answered := make(chan error, 1)
	go func() { answered <- answerAppends(stream, waits) }()
	for {
		var req appendFrame
		err := stream.RecvMsg(&req)
		if err != nil {
			close(waits)
			aerr := <-answered
			if errors.Is(err, io.EOF) {
				return aerr
			}
			return err
		}
		batch, err := unpackPublishes(req.publishes)
		if err != nil {
			close(waits)
			<-answered
			return status.Error(codes.InvalidArgument, err.Error())
		}
		wait := s.node.StartAppend(stream.Context(), batch)
		select {
		case waits <- wait:
		case err := <-answered: // the stream broke while answering
			return err
		}
	}
}

// answerAppends sends the outcome of each started batch, in order.
func answerAppends(stream pb.Storage_AppendsServer, waits <-chan func() ([]storage.Outcome, error)) error {
	for wait := range waits {
		outcomes, err := wait()
		resp := &pb.AppendResponse{Err: rpcerr.Encode(err), Count: uint32(len(outcomes))}
		for i, o := range outcomes {
			if o.Err != nil || len(o.Rejected) > 0 {
				resp.Outcomes = append(resp.Outcomes, &pb.Outcome{Index: uint32(i), Rejected: fromQueueIDs(o.Rejected), Err: rpcerr.Encode(o.Err)})
			}
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
	return nil
}

// Session runs one session until the gateway ends the stream; the node
// session is then closed, which requeues its unacked messages.
func (s *Server) Session(stream pb.Storage_SessionServer) error {
	out := newEventSender(stream)
	defer out.stop()
	sess, err := s.node.OpenSession(stream.Context(), out)
	if err != nil {
		return rpcerr.ToStatus(err)
	}
	defer sess.Close()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := serveRequest(stream.Context(), sess, req, out); err != nil {
			return err // a gateway speaking garbage: end the session
		}
	}
}

// serveRequest applies one session request and queues its reply, if any.
// It fails only on a malformed request.
func serveRequest(ctx context.Context, sess storage.Session, req *pb.SessionRequest, out *eventSender) error {
	reply := &pb.SessionEvent_Reply{Id: req.GetId()}
	switch op := req.GetOp().(type) {
	case *pb.SessionRequest_Consume_:
		c := op.Consume
		reply.Err = rpcerr.Encode(sess.Consume(storage.ConsumerSpec{
			Queue: storage.QueueID(c.GetQueue()), Tag: c.GetTag(), Credit: c.GetCredit(), Unlimited: c.GetUnlimited(),
			NoAck: c.GetNoAck(), Exclusive: c.GetExclusive(), Priority: c.GetPriority(),
		}))
	case *pb.SessionRequest_Cancel_:
		reply.Err = rpcerr.Encode(sess.Cancel(op.Cancel.GetTag()))
	case *pb.SessionRequest_Grant_:
		sess.Grant(op.Grant.GetTag(), op.Grant.GetCredit())
		return nil
	case *pb.SessionRequest_Get_:
		d, remaining, ok, err := sess.Get(ctx, storage.QueueID(op.Get.GetQueue()), op.Get.GetNoAck())
		reply.Err, reply.Ok, reply.Remaining = rpcerr.Encode(err), ok, remaining
		if ok {
			reply.Delivery = toPBDelivery(d)
		}
	case *pb.SessionRequest_Barrier_:
		// Nothing to do: answering it says the earlier requests are taken.
	case *pb.SessionRequest_Settle:
		ops, err := unpackSettles(op.Settle.GetOps())
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		var grants []storage.Grant
		for _, g := range op.Settle.GetGrants() {
			grants = append(grants, storage.Grant{Tag: g.GetTag(), Credit: g.GetCredit()})
		}
		_ = sess.Settle(ops, grants) // settling is one-way; a failing node ends the stream
		return nil
	}
	out.send(sessionEvent{msg: &pb.SessionEvent{Event: &pb.SessionEvent_Reply_{Reply: reply}}})
	return nil
}

// eventSender is the storage.Sink of a served session: it queues events
// and one goroutine sends them, since a gRPC stream allows one sender and
// the node's sink must not wait on the network. Deliveries that queue up
// while it sends go out as one message: under load that is one send per
// burst of acks, not one per ack.
type eventSender struct {
	stream   pb.Storage_SessionServer
	events   chan sessionEvent
	done     chan struct{} // closed to stop the sender
	finished chan struct{} // closed when the sender has stopped
	once     sync.Once
}

// sessionEvent is a queued event: deliveries, or a ready message.
type sessionEvent struct {
	deliveries []storage.Delivery
	msg        *pb.SessionEvent
}

func newEventSender(stream pb.Storage_SessionServer) *eventSender {
	e := &eventSender{stream: stream, events: make(chan sessionEvent, sendQueue),
		done: make(chan struct{}), finished: make(chan struct{})}
	go e.run()
	return e
}

func (e *eventSender) run() {
	defer close(e.finished)
	var held *sessionEvent // taken from the queue while merging, not yet sent
	var packed []byte      // reused: Send has encoded a message when it returns
	for {
		var ev sessionEvent
		if held != nil {
			ev, held = *held, nil
		} else {
			select {
			case ev = <-e.events:
			case <-e.done:
				return
			}
		}
		msg := ev.msg
		if msg == nil {
			var batch []storage.Delivery
			batch, held = e.merge(ev.deliveries)
			if cap(packed) > maxPooledPack {
				packed = nil // one burst of huge messages must not pin its buffer
			}
			packed = packDeliveries(packed[:0], batch)
			msg = &pb.SessionEvent{Event: &pb.SessionEvent_Deliveries_{Deliveries: &pb.SessionEvent_Deliveries{Packed: packed}}}
		}
		if e.stream.Send(msg) != nil {
			e.once.Do(func() { close(e.done) })
			return
		}
	}
}

// maxMergedBytes stops merging deliveries well below a gRPC message's cap.
const maxMergedBytes = 8 << 20

// merge appends the deliveries already queued behind batch, up to
// maxMergedBytes; the first event it does not take is returned to be sent
// next, keeping the order.
func (e *eventSender) merge(batch []storage.Delivery) ([]storage.Delivery, *sessionEvent) {
	size := deliveriesSize(batch)
	for size < maxMergedBytes {
		select {
		case next := <-e.events:
			if next.msg != nil {
				return batch, &next
			}
			more := deliveriesSize(next.deliveries)
			if size+more > maxMergedBytes {
				return batch, &next
			}
			batch = append(batch, next.deliveries...)
			size += more
		default:
			return batch, nil
		}
	}
	return batch, nil
}

func deliveriesSize(ds []storage.Delivery) int {
	n := 0
	for _, d := range ds {
		n += packedSize(d.Msg)
	}
	return n
}

func (e *eventSender) send(ev sessionEvent) {
	select {
	case e.events <- ev:
	case <-e.done:
	}
}

// stop ends the sender and waits for it: gRPC forbids Send once the
// handler has returned.
func (e *eventSender) stop() {
	e.once.Do(func() { close(e.done) })
	<-e.finished
}

// Deliver implements storage.Sink. It keeps the batch as it is: the node
// in this process hands over a fresh slice of messages that never change.
func (e *eventSender) Deliver(batch []storage.Delivery) {
	e.send(sessionEvent{deliveries: batch})
}

// Cancelled implements storage.Sink.
func (e *eventSender) Cancelled(tag string, reason error) {
	e.send(sessionEvent{msg: &pb.SessionEvent{Event: &pb.SessionEvent_Cancelled_{Cancelled: &pb.SessionEvent_Cancelled{Tag: tag, Reason: rpcerr.Encode(reason)}}}})
}
