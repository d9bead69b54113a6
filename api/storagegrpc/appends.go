package storagegrpc

import (
	"context"
	"fmt"
	"sync"

	"github.com/warrenmq/warren/api/rpcerr"
	"github.com/warrenmq/warren/api/storage"
	pb "github.com/warrenmq/warren/api/storagepb"
)

// appendStream carries a client's appends over one Appends stream, opened
// on first use and again after a failure. The node answers batches in the
// order they were sent, so the waiting callers form a queue.
//
// Concurrency: sendMu orders Send calls and the queue with them (a batch's
// place in the queue is its place on the stream); each streamConn guards
// its own queue, which its receive goroutine pops.
type appendStream struct {
	client pb.StorageClient
	sendMu sync.Mutex
	cur    *streamConn // nil until the first append or after a failure
}

// maxPooledPack is the largest packed-batch buffer kept for reuse: one
// batch of huge messages must not pin its buffer for good.
const maxPooledPack = 16 << 20

// packBuffers holds packed-batch buffers between appends and settlements.
var packBuffers = sync.Pool{New: func() any { return new([]byte) }}

// putPackBuffer returns a packed buffer whose request Send has encoded,
// unless it grew past maxPooledPack.
func putPackBuffer(b *[]byte) {
	if cap(*b) <= maxPooledPack {
		packBuffers.Put(b)
	}
}

type appendResult struct {
	outcomes []storage.Outcome
	err      error
}

// waiter is a batch on the stream awaiting its answer.
type waiter struct {
	done chan appendResult
	n    int // publishes in the batch: the answer must have as many
}

// streamConn is one Appends stream and the callers waiting on it.
type streamConn struct {
	stream pb.Storage_AppendsClient
	cancel context.CancelFunc
	mu     struct {
		sync.Mutex
		waiting []waiter
		err     error // set once the stream has failed
	}
}

// start sends the batch and returns at once; wait gives its outcomes.
func (a *appendStream) start(ctx context.Context, batch []storage.Publish) func() ([]storage.Outcome, error) {
	packed := packBuffers.Get().(*[]byte)
	*packed = packPublishes((*packed)[:0], batch)
	done := make(chan appendResult, 1)
	if err := a.send(ctx, &pb.AppendRequest{Publishes: *packed}, waiter{done, len(batch)}); err != nil {
		done <- appendResult{err: err}
	}
	putPackBuffer(packed)
	return func() ([]storage.Outcome, error) {
		select {
		case r := <-done:
			return r.outcomes, r.err
		case <-ctx.Done():
			return nil, ctx.Err() // the answer, when it comes, goes nowhere
		}
	}
}

// send queues done for the answer and sends req, on a new stream if the
// last one failed. A failed Send is reported through done by the stream's
// failure, like every other batch still waiting on it.
//
// Opening the stream and Send can block (a node still connected but no
// longer reading); the caller's ctx bounds both, by cancelling the stream,
// so neither this caller nor the others queued on sendMu wait longer.
func (a *appendStream) send(ctx context.Context, req *pb.AppendRequest, w waiter) error {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	sc := a.cur
	if sc == nil || sc.failed() {
		var err error
		if sc, err = a.open(ctx); err != nil {
			return err
		}
		a.cur = sc
	}
	if !sc.enqueue(w) {
		return sc.failure()
	}
	stop := context.AfterFunc(ctx, sc.cancel)
	err := sc.stream.Send(req)
	stop()
	if err != nil {
		sc.fail(err)
	}
	return nil
}

// open starts a stream that outlives the call that opens it; that call's
// ctx bounds only the opening.
func (a *appendStream) open(callCtx context.Context) (*streamConn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(callCtx, cancel)
	stream, err := a.client.Appends(ctx)
	if !stop() && err == nil {
		err = callCtx.Err() // cancelled while opening: the stream is dead
	}
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	sc := &streamConn{stream: stream, cancel: cancel}
	go sc.receive()
	return sc, nil
}

// receive hands each answer to the oldest waiting caller until the stream ends.
func (sc *streamConn) receive() {
	for {
		resp, err := sc.stream.Recv()
		if err != nil {
			sc.fail(err)
			return
		}
		sc.mu.Lock()
		if len(sc.mu.waiting) == 0 {
			sc.mu.Unlock()
			sc.fail(fmt.Errorf("append: an answer for no batch"))
			return
		}
		w := sc.mu.waiting[0]
		sc.mu.waiting = sc.mu.waiting[1:]
		sc.mu.Unlock()
		w.done <- decodeAppendResponse(resp, w.n)
	}
}

// decodeAppendResponse reads the answer to a batch of n publishes; a count
// other than n is refused before anything is allocated for it.
func decodeAppendResponse(resp *pb.AppendResponse, n int) appendResult {
	if err := rpcerr.Decode(resp.GetErr()); err != nil {
		return appendResult{err: err}
	}
	if resp.GetCount() != uint32(n) {
		return appendResult{err: fmt.Errorf("append: %d outcomes for %d publishes", resp.GetCount(), n)}
	}
	out := make([]storage.Outcome, n)
	for _, o := range resp.GetOutcomes() {
		if o.GetIndex() >= uint32(len(out)) {
			return appendResult{err: fmt.Errorf("append: an outcome for publish %d of %d", o.GetIndex(), len(out))}
		}
		i := o.GetIndex()
		if len(o.GetRejected()) > 0 {
			out[i].Rejected = toQueueIDs(o.GetRejected())
		}
		out[i].Err = rpcerr.Decode(o.GetErr())
	}
	return appendResult{outcomes: out}
}

func (sc *streamConn) enqueue(w waiter) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.mu.err != nil {
		return false
	}
	sc.mu.waiting = append(sc.mu.waiting, w)
	return true
}

func (sc *streamConn) failed() bool { return sc.failure() != nil }

func (sc *streamConn) failure() error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.mu.err
}

// fail ends the stream: every batch still waiting has an unknown fate.
func (sc *streamConn) fail(err error) {
	sc.mu.Lock()
	if sc.mu.err == nil {
		sc.mu.err = fmt.Errorf("append stream: %w", fromStatus(err))
	}
	waiting, ferr := sc.mu.waiting, sc.mu.err
	sc.mu.waiting = nil
	sc.mu.Unlock()
	sc.cancel()
	for _, w := range waiting {
		w.done <- appendResult{err: ferr}
	}
}
