package conn

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/gateway/wire"
)

// outbox is a connection's send path. Any goroutine appends frames under mu
// (channel handlers, the appender sending confirms, storage sinks pushing
// deliveries); one writer goroutine swaps the buffer out and does the socket
// write without holding mu, so many frames share one syscall and no producer
// waits on the network.
type outbox struct {
	mu struct {
		sync.Mutex
		active *wire.FrameWriter
		closed bool
	}
	spare     *wire.FrameWriter
	wake      chan struct{}
	done      chan struct{}
	lastWrite atomic.Int64 // unix nanos of the last socket write, for heartbeats
	onFlush   func()       // called by the writer after each flush, without locks
	err       atomic.Pointer[error]
}

func newOutbox(nc net.Conn) *outbox {
	o := &outbox{
		spare: wire.NewFrameWriter(nc),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	o.mu.active = wire.NewFrameWriter(nc)
	return o
}

// with runs fn with the frame writer under the lock and wakes the writer.
// It reports false, without running fn, once the outbox is closed.
func (o *outbox) with(fn func(w *wire.FrameWriter) error) error {
	o.mu.Lock()
	if o.mu.closed {
		o.mu.Unlock()
		return net.ErrClosed
	}
	err := fn(o.mu.active)
	o.kickLocked() // under the lock: close cannot close wake in between
	o.mu.Unlock()
	return err
}

// kickLocked wakes the writer; the caller holds mu, and wake is open.
func (o *outbox) kickLocked() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// method queues one method frame.
func (o *outbox) method(ch uint16, m wire.Method) error {
	return o.with(func(w *wire.FrameWriter) error { return w.WriteMethod(ch, m) })
}

// run is the writer goroutine; it ends when the outbox closes or a write fails.
func (o *outbox) run() {
	defer close(o.done)
	for range o.wake {
		// Let the goroutines that just woken us (a storage sink, the
		// appender with its confirms) add what they have before the
		// syscall: fewer, larger writes.
		runtime.Gosched()
		if !o.flushOnce() {
			return
		}
	}
}

// flushOnce writes what is buffered; it reports false when the writer must stop.
func (o *outbox) flushOnce() bool {
	o.mu.Lock()
	w := o.mu.active
	o.mu.active, o.spare = o.spare, w
	closed := o.mu.closed
	o.mu.Unlock()
	if w.Buffered() > 0 {
		if err := w.Flush(); err != nil {
			o.err.Store(&err)
			o.close()
			return false
		}
		o.lastWrite.Store(time.Now().UnixNano())
	}
	if o.onFlush != nil {
		o.onFlush()
	}
	return !closed
}

// close stops accepting frames; the writer flushes what was queued and stops.
func (o *outbox) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.mu.closed {
		o.mu.closed = true
		close(o.wake) // under the lock, so no kickLocked can follow it
	}
}

// drain closes the outbox and waits up to d for the writer to finish.
func (o *outbox) drain(d time.Duration) {
	o.close()
	select {
	case <-o.done:
	case <-time.After(d):
	}
}

func (o *outbox) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mu.closed
}
