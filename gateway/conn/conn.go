package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/wire"
)

// Conn is one client connection.
//
// Concurrency: the reader goroutine (Serve) reads frames and dispatches each
// under dispatchMu, which guards the handshake results, the channel table and
// every channel's method-handling state. The few outside actors that change
// that state (a forced close at shutdown, the consumer-timeout check) take
// dispatchMu too; it is never held across network or storage I/O that can
// block for long. The outbox has its own lock. Storage sinks and the
// appender reach a channel only through the fields its doc marks as shared.
type Conn struct {
	cfg    *Config
	nc     net.Conn
	id     string
	r      *wire.FrameReader
	out    *outbox
	pub    *appender
	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc

	dispatchMu sync.Mutex
	inst       string // the instance the login resolved to
	user       string // the user within inst
	loginName  string // as the client sent it: "<instance>:<user>" or "<user>"
	vhost      string
	quotas     topology.Quotas // the instance's, read at connection.open
	maxMessage int             // the smaller of the gateway's and the instance's limit
	rate       *rateBucket     // the instance's publish rate on this gateway; nil: none
	storeGate  *Gate           // shut while the instance is past max_stored_bytes
	admitted   bool            // counted against the instance's connections
	grants     permGrants
	clientCaps amqp.Table
	frameMax   uint32
	channelMax uint16
	heartbeat  time.Duration
	channels   map[uint16]*channel
	closing    bool // connection.close sent; only close-ok matters now

	stopping chan struct{} // closed when connection.close is sent
	// framesRead counts frames from the client; the heartbeat tick compares
	// it between ticks instead of reading the clock on every frame.
	framesRead  atomic.Uint64
	gateWaiting atomic.Bool // the reader is held at the publish gate
	closeOnce   sync.Once
	credit      creditLedger
	who         atomic.Pointer[Identity] // set once connection.open succeeds
}

// Identity is who an open connection is, for the sweeps that close
// connections whose instance, vhost or user went away.
type Identity struct {
	Instance, User, VHost string
}

// Identity returns who the connection is, or nil before connection.open.
// Safe from any goroutine.
func (c *Conn) Identity() *Identity { return c.who.Load() }

// New prepares a connection; Serve runs it.
func New(cfg *Config, nc net.Conn, id string) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		cfg: cfg, nc: nc, id: id,
		r:        wire.NewFrameReader(nc),
		out:      newOutbox(nc),
		ctx:      ctx,
		cancel:   cancel,
		channels: map[uint16]*channel{},
		frameMax: cfg.FrameMax,
		stopping: make(chan struct{}),
	}
	c.pub = newAppender(c, cfg.PublishQueue)
	c.out.onFlush = c.credit.repay
	return c
}

// ID identifies the connection across the deployment (exclusive queue owner).
func (c *Conn) ID() string { return c.id }

// Close closes the connection with code and text (320 CONNECTION_FORCED on
// shutdown). It returns at once; Serve ends after the client's close-ok or
// after a second.
func (c *Conn) Close(code uint16, text string) {
	c.dispatchMu.Lock()
	defer c.dispatchMu.Unlock()
	c.closeWithLocked(&reply.Error{Code: code, Text: text})
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.ctx.Done() }

// Serve runs the connection until it ends and releases everything it held.
func (c *Conn) Serve() {
	defer c.cleanup()
	go c.out.run()
	if err := c.handshake(); err != nil {
		c.failHandshake(err)
		return
	}
	go c.pub.run()
	go c.heartbeats()
	c.loop()
}

// loop reads frames until the connection ends.
func (c *Conn) loop() {
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.framesRead.Add(1)
		if isPublish(f) && (!c.waitGates() || !c.throttle()) {
			return
		}
		c.dispatchMu.Lock()
		done := c.handleFrame(f)
		if !done && c.r.Buffered() == 0 {
			done = c.flushSettlesLocked()
		}
		c.dispatchMu.Unlock()
		if done {
			return
		}
	}
}

// handleFrame dispatches one frame; it reports whether the connection is over.
func (c *Conn) handleFrame(f wire.Frame) bool {
	if c.closing {
		return isCloseOk(f)
	}
	if err := c.dispatch(f); err != nil {
		return c.failLocked(err)
	}
	return false
}

func isCloseOk(f wire.Frame) bool {
	if f.Type != wire.FrameMethod || f.Channel != 0 {
		return false
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return false
	}
	_, ok := m.(*wire.ConnectionCloseOk)
	return ok
}

// flushSettlesLocked sends every channel's batched acks to storage before
// the reader may block; it reports whether the connection is over.
func (c *Conn) flushSettlesLocked() bool {
	if c.closing {
		return false
	}
	for _, ch := range c.channels {
		if ch.closing.Load() {
			continue
		}
		if err := ch.flushSettles(); err != nil {
			return c.failLocked(ch.wrap(err, nil))
		}
	}
	return false
}

// readFailed handles a read error: a frame error gets connection.close
// (the stream cannot be read further); EOF and resets just end.
func (c *Conn) readFailed(err error) {
	var fe *wire.FrameError
	if errors.As(err, &fe) {
		c.dispatchMu.Lock()
		c.closeWithLocked(&reply.Error{Code: fe.Code, Text: fe.Text})
		c.dispatchMu.Unlock()
		c.discardInput()
	}
}

// discardInput reads and drops what the client still sends after a frame
// error, until it closes or the close timer fires: closing a socket with
// unread input resets it, and the client would never read connection.close.
func (c *Conn) discardInput() {
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, c.nc)
}

// failLocked handles an error from a frame handler; it reports whether the
// connection is finished. Soft errors on a channel close just that channel.
func (c *Conn) failLocked(err error) bool {
	var re *reply.Error
	if !errors.As(err, &re) {
		re = reply.Errorf(reply.InternalError, "%v", err)
	}
	var ce *channelError
	if errors.As(err, &ce) && !reply.IsHard(re.Code) {
		c.closeChannelLocked(ce.ch, re)
		return false
	}
	c.closeWithLocked(re)
	return false // keep reading for close-ok
}

// closeWithLocked sends connection.close once and arms a timer that ends the
// connection if the client never answers.
func (c *Conn) closeWithLocked(e *reply.Error) {
	if c.closing {
		return
	}
	c.closing = true
	close(c.stopping)
	_ = c.out.method(0, &wire.ConnectionClose{
		ReplyCode: e.Code, ReplyText: e.ReplyText(), ClassId: e.ClassID, MethodId: e.MethodID,
	})
	time.AfterFunc(time.Second, func() { _ = c.nc.Close() })
}

// cleanup ends the connection: it releases what the connection held, stops
// its goroutines and closes the socket.
func (c *Conn) cleanup() {
	// Publishes the client sent before the connection failed are stored,
	// as after a clean close; each append is bounded by appendTimeout.
	c.pub.barrier()
	c.dispatchMu.Lock()
	c.releaseLocked()
	c.dispatchMu.Unlock()
	c.pub.stop()
	c.out.drain(time.Second)
	_ = c.nc.Close()
	if c.admitted {
		c.cfg.leaveConn(c.inst)
	}
	c.cancel()
}

// releaseLocked returns the unacked messages of every channel to their
// queues, cancels consumers and deletes the connection's exclusive queues,
// once. A client's connection.close is answered only after this, so the
// client sees its exclusive queues gone, as with RabbitMQ.
func (c *Conn) releaseLocked() {
	c.closeOnce.Do(func() {
		for _, ch := range c.channels {
			ch.release()
		}
		if c.cfg.Topology == nil || c.vhost == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), topologyTimeout)
		defer cancel()
		if err := c.cfg.Topology.ConnectionClosed(ctx, c.inst, c.id); err != nil {
			c.cfg.Log.Warn("deleting exclusive queues", "conn", c.id, "err", err)
		}
	})
}

// heartbeats sends a heartbeat when nothing was sent for half the interval,
// drops a peer silent for two intervals (reference §1.2), and checks the
// consumer acknowledgement timeout.
func (c *Conn) heartbeats() {
	t := time.NewTicker(c.tickInterval())
	defer t.Stop()
	hb := heartbeatState{lastHeard: time.Now()}
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			if !c.heartbeatTick(now, &hb) {
				return
			}
			// Never wait for the reader: it may be in a long declare, and
			// heartbeats must go on meanwhile. The check runs next tick.
			if c.dispatchMu.TryLock() {
				c.checkConsumerTimeoutsLocked(now)
				c.dispatchMu.Unlock()
			}
		}
	}
}

// tickInterval is often enough for both heartbeats (half the interval) and
// the consumer timeout (a quarter of it, at least every 10 ms).
func (c *Conn) tickInterval() time.Duration {
	d := max(c.cfg.ConsumerTimeout/4, 10*time.Millisecond)
	if c.heartbeat > 0 {
		d = min(d, c.heartbeat/2)
	}
	return min(d, time.Second)
}

// heartbeatState is what the heartbeat goroutine remembers between ticks.
type heartbeatState struct {
	frames    uint64    // framesRead at the last tick
	lastHeard time.Time // when framesRead last moved
}

// heartbeatTick reports false when the peer has been silent too long.
func (c *Conn) heartbeatTick(now time.Time, hb *heartbeatState) bool {
	if c.heartbeat <= 0 {
		return true
	}
	if now.UnixNano()-c.out.lastWrite.Load() >= int64(c.heartbeat/2) {
		_ = c.out.with(func(w *wire.FrameWriter) error { return w.WriteHeartbeat() })
	}
	if n := c.framesRead.Load(); n != hb.frames || c.gateWaiting.Load() {
		hb.frames, hb.lastHeard = n, now
	}
	if now.Sub(hb.lastHeard) > 2*c.heartbeat {
		c.cfg.Log.Info("missed heartbeats, closing", "conn", c.id)
		_ = c.nc.Close()
		return false
	}
	return true
}

func (c *Conn) String() string { return fmt.Sprintf("conn %s (%s)", c.id, c.nc.RemoteAddr()) }
