package storagegrpc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/warrenmq/warren/api/rpcerr"
	"github.com/warrenmq/warren/api/storage"
	pb "github.com/warrenmq/warren/api/storagepb"
)

// closeTimeout bounds how long Session.Close waits for the node to confirm.
const closeTimeout = 10 * time.Second

// Client is a storage.Node reached over gRPC.
type Client struct {
	c       pb.StorageClient
	appends *appendStream
}

var _ storage.AppendCopier = (*Client)(nil)

// NewClient calls the Storage service on cc.
func NewClient(cc grpc.ClientConnInterface) *Client {
	c := pb.NewStorageClient(cc)
	return &Client{c: c, appends: &appendStream{client: c}}
}

func (c *Client) CreateQueue(ctx context.Context, spec storage.QueueSpec) error {
	_, err := c.c.CreateQueue(ctx, &pb.CreateQueueRequest{Spec: toPBSpec(spec)})
	return fromStatus(err)
}

func (c *Client) DeleteQueue(ctx context.Context, id storage.QueueID, ifUnused, ifEmpty bool) (uint64, error) {
	r, err := c.c.DeleteQueue(ctx, &pb.DeleteQueueRequest{Queue: uint64(id), IfUnused: ifUnused, IfEmpty: ifEmpty})
	return r.GetCount(), fromStatus(err)
}

func (c *Client) PurgeQueue(ctx context.Context, id storage.QueueID) (uint64, error) {
	r, err := c.c.PurgeQueue(ctx, &pb.QueueRef{Queue: uint64(id)})
	return r.GetCount(), fromStatus(err)
}

func (c *Client) Stats(ctx context.Context, id storage.QueueID) (storage.QueueStats, error) {
	r, err := c.c.Stats(ctx, &pb.QueueRef{Queue: uint64(id)})
	if err != nil {
		return storage.QueueStats{}, fromStatus(err)
	}
	return fromPBStats(r), nil
}

func (c *Client) Touch(ctx context.Context, id storage.QueueID) error {
	_, err := c.c.Touch(ctx, &pb.QueueRef{Queue: uint64(id)})
	return fromStatus(err)
}

// Append sends the batch and waits for its outcomes; an error means its
// fate is unknown.
func (c *Client) Append(ctx context.Context, batch []storage.Publish) ([]storage.Outcome, error) {
	return c.appends.start(ctx, batch)()
}

// CopiesAppends: StartAppend encodes the batch before it returns.
func (c *Client) CopiesAppends() {}

// StartAppend sends the batch on the client's Appends stream, behind every
// batch sent before, and returns at once.
func (c *Client) StartAppend(ctx context.Context, batch []storage.Publish) func() ([]storage.Outcome, error) {
	return c.appends.start(ctx, batch)
}

// OpenSession opens a session stream. The stream lives until Close, not
// until ctx ends: a session belongs to a gateway channel, not to a call.
func (c *Client) OpenSession(ctx context.Context, sink storage.Sink) (storage.Session, error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := c.c.Session(sctx, grpc.ForceCodecV2(storageCodec)) // see sessionFrame
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	s := &session{stream: stream, sink: sink, done: make(chan struct{}), cancel: cancel}
	s.mu.pending = map[uint64]chan *pb.SessionEvent_Reply{}
	s.mu.consumers = map[string]struct{}{}
	go s.receive()
	return s, nil
}

// session is a storage.Session over one gRPC stream.
//
// Concurrency: sendMu serializes stream.Send (gRPC allows one sender); mu
// guards the request ids waiting for replies and the live consumer tags;
// the receive goroutine is the only reader of the stream and the only
// caller of the sink.
type session struct {
	stream pb.Storage_SessionClient
	sink   storage.Sink
	sendMu sync.Mutex
	mu     struct {
		sync.Mutex
		nextID    uint64
		pending   map[uint64]chan *pb.SessionEvent_Reply
		consumers map[string]struct{}
		err       error // set once the stream has ended
		closing   bool  // Close was called: the end of the stream is expected
	}
	done   chan struct{}      // closed when receive returns
	cancel context.CancelFunc // ends the stream, when Close cannot wait any longer
}

func (s *session) send(req *pb.SessionRequest) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.stream.Send(req); err != nil {
		return fmt.Errorf("%w: %v", storage.ErrSessionLost, err)
	}
	return nil
}

// call sends a request and waits for its reply.
func (s *session) call(ctx context.Context, req *pb.SessionRequest) (*pb.SessionEvent_Reply, error) {
	ch := make(chan *pb.SessionEvent_Reply, 1)
	s.mu.Lock()
	if s.mu.err != nil {
		s.mu.Unlock()
		return nil, s.mu.err
	}
	s.mu.nextID++
	req.Id = s.mu.nextID
	s.mu.pending[req.Id] = ch
	s.mu.Unlock()
	if err := s.send(req); err != nil {
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, storage.ErrSessionLost
		}
		return r, rpcerr.Decode(r.GetErr())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *session) Consume(spec storage.ConsumerSpec) error {
	s.mu.Lock()
	s.mu.consumers[spec.Tag] = struct{}{}
	s.mu.Unlock()
	_, err := s.call(context.Background(), &pb.SessionRequest{Op: &pb.SessionRequest_Consume_{Consume: &pb.SessionRequest_Consume{
		Queue: uint64(spec.Queue), Tag: spec.Tag, Credit: spec.Credit, Unlimited: spec.Unlimited,
		NoAck: spec.NoAck, Exclusive: spec.Exclusive, Priority: spec.Priority,
	}}})
	if err != nil {
		s.forget(spec.Tag)
	}
	return err
}

func (s *session) forget(tag string) {
	s.mu.Lock()
	delete(s.mu.consumers, tag)
	s.mu.Unlock()
}

func (s *session) Cancel(tag string) error {
	s.forget(tag)
	_, err := s.call(context.Background(), &pb.SessionRequest{Op: &pb.SessionRequest_Cancel_{Cancel: &pb.SessionRequest_Cancel{Tag: tag}}})
	return err
}

func (s *session) Grant(tag string, credit uint32) {
	_ = s.send(&pb.SessionRequest{Op: &pb.SessionRequest_Grant_{Grant: &pb.SessionRequest_Grant{Tag: tag, Credit: credit}}})
}

func (s *session) Get(ctx context.Context, queue storage.QueueID, noAck bool) (storage.Delivery, uint64, bool, error) {
	r, err := s.call(ctx, &pb.SessionRequest{Op: &pb.SessionRequest_Get_{Get: &pb.SessionRequest_Get{Queue: uint64(queue), NoAck: noAck}}})
	if err != nil || !r.GetOk() {
		return storage.Delivery{}, r.GetRemaining(), false, err
	}
	return fromPBDelivery(r.GetDelivery()), r.GetRemaining(), true, nil
}

// Settle sends the settlements and the grants they free as one message.
func (s *session) Settle(ops []storage.Settle, grants []storage.Grant) error {
	packed := packBuffers.Get().(*[]byte)
	defer putPackBuffer(packed)
	*packed = packSettles((*packed)[:0], ops)
	batch := &pb.SessionRequest_SettleBatch{Ops: *packed}
	if len(grants) > 0 {
		batch.Grants = make([]*pb.SessionRequest_Grant, len(grants))
		for i, g := range grants {
			batch.Grants[i] = &pb.SessionRequest_Grant{Tag: g.Tag, Credit: g.Credit}
		}
	}
	return s.send(&pb.SessionRequest{Op: &pb.SessionRequest_Settle{Settle: batch}})
}

// Barrier round-trips on the stream: the node answers requests in order.
func (s *session) Barrier(ctx context.Context) error {
	_, err := s.call(ctx, &pb.SessionRequest{Op: &pb.SessionRequest_Barrier_{Barrier: &pb.SessionRequest_Barrier{}}})
	return err
}

// Close ends the stream; the node requeues the session's unacked messages
// before it ends its side, which Close waits for.
func (s *session) Close() error {
	s.mu.Lock()
	s.mu.closing = true
	s.mu.Unlock()
	s.sendMu.Lock()
	err := s.stream.CloseSend()
	s.sendMu.Unlock()
	select {
	case <-s.done:
	case <-time.After(closeTimeout):
		s.cancel() // the node does not answer: drop the stream rather than leak it
		return fmt.Errorf("storage session close: no answer in %v", closeTimeout)
	}
	return err
}

// Done is closed once the stream has ended, after Close or after lost has
// cancelled the consumers.
func (s *session) Done() <-chan struct{} { return s.done }

// receive dispatches replies and events until the stream ends. When it
// ends without Close, the node is gone: every consumer is cancelled.
func (s *session) receive() {
	defer close(s.done)
	defer s.cancel()
	var f sessionFrame
	for {
		if err := s.stream.RecvMsg(&f); err != nil {
			s.lost(err)
			return
		}
		if f.packed != nil {
			s.deliver(f.packed)
			f.release() // the sink copied what it keeps
			continue
		}
		s.dispatch(&f.ev)
	}
}

func (s *session) deliver(packed []byte) {
	batch, err := unpackDeliveries(packed)
	if err != nil {
		s.cancel() // a node speaking garbage: end the session, as if lost
		return
	}
	s.sink.Deliver(batch)
}

func (s *session) dispatch(ev *pb.SessionEvent) {
	switch e := ev.GetEvent().(type) {
	case *pb.SessionEvent_Reply_:
		s.mu.Lock()
		ch := s.mu.pending[e.Reply.GetId()]
		delete(s.mu.pending, e.Reply.GetId())
		s.mu.Unlock()
		if ch != nil {
			ch <- e.Reply
		}
	case *pb.SessionEvent_Deliveries_: // not left in the receive buffer: see codec
		s.deliver(e.Deliveries.GetPacked())
	case *pb.SessionEvent_Cancelled_:
		s.forget(e.Cancelled.GetTag())
		s.sink.Cancelled(e.Cancelled.GetTag(), rpcerr.Decode(e.Cancelled.GetReason()))
	}
}

// lost fails the waiting calls and, unless the stream ended cleanly after
// Close, cancels the consumers so the gateway tells its clients.
func (s *session) lost(err error) {
	s.mu.Lock()
	s.mu.err = fmt.Errorf("%w: %v", storage.ErrSessionLost, err)
	reason, expected := s.mu.err, s.mu.closing
	for id, ch := range s.mu.pending {
		close(ch)
		delete(s.mu.pending, id)
	}
	tags := make([]string, 0, len(s.mu.consumers))
	for tag := range s.mu.consumers {
		tags = append(tags, tag)
	}
	s.mu.consumers = map[string]struct{}{}
	s.mu.Unlock()
	if expected {
		return
	}
	for _, tag := range tags {
		s.sink.Cancelled(tag, reason)
	}
}

// fromStatus is rpcerr.FromStatus, with a call that could not reach the
// node marked storage.ErrNodeUnavailable.
func fromStatus(err error) error {
	if status.Code(err) == codes.Unavailable {
		return fmt.Errorf("%w: %v", storage.ErrNodeUnavailable, err)
	}
	return rpcerr.FromStatus(err)
}
