package perf

import (
	"net"
	"sync"
)

// coalesceLimit bounds the bytes a coalescingConn holds: past it, Write
// waits for the flusher, so a fast producer still feels TCP backpressure.
const coalesceLimit = 4 << 20

// coalescingConn takes the client library's writes into a buffer and lets
// one flusher goroutine write whatever has gathered in a single syscall.
// amqp091-go flushes its writer after every publish and every ack, which
// costs a syscall per message and, on a small machine, caps a single
// producer well below what a broker can take. With this the load generator
// measures the broker rather than its own syscalls; it is the same for
// every broker under test. Reads pass through untouched.
type coalescingConn struct {
	net.Conn
	mu      sync.Mutex
	cond    *sync.Cond // signalled when the buffer drains or the conn fails
	buf     []byte     // bytes waiting for the flusher
	err     error      // the first write error; every later Write returns it
	closed  bool
	wake    chan struct{}
	flushed chan struct{}
}

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c, wake: make(chan struct{}, 1), flushed: make(chan struct{})}
	cc.cond = sync.NewCond(&cc.mu)
	go cc.flusher()
	return cc
}

// Write queues p; it blocks only while coalesceLimit bytes are pending.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for len(c.buf) >= coalesceLimit && c.err == nil && !c.closed {
		c.cond.Wait()
	}
	if c.err != nil || c.closed {
		err := c.err
		c.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return 0, err
	}
	c.buf = append(c.buf, p...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// flusher writes what has gathered each time it is woken.
func (c *coalescingConn) flusher() {
	defer close(c.flushed)
	var out []byte
	for range c.wake {
		c.mu.Lock()
		out, c.buf = c.buf, out[:0]
		closed := c.closed
		c.cond.Broadcast()
		c.mu.Unlock()
		if len(out) > 0 {
			if _, err := c.Conn.Write(out); err != nil {
				c.fail(err)
				return
			}
		}
		if closed {
			return
		}
	}
}

func (c *coalescingConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}

// Close writes what is pending, then closes the socket.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	if !already {
		select {
		case c.wake <- struct{}{}:
		default:
		}
		<-c.flushed
	}
	return c.Conn.Close()
}
