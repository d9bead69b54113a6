package conn

import (
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/gateway/wire"
)

// channelError is a failure that closes only its channel when its code is soft.
type channelError struct {
	ch  *channel
	err *reply.Error
}

func (e *channelError) Error() string { return e.err.Error() }
func (e *channelError) Unwrap() error { return e.err }

// dispatch routes one frame to the connection or to its channel.
func (c *Conn) dispatch(f wire.Frame) error {
	switch f.Type {
	case wire.FrameHeartbeat:
		if f.Channel != 0 {
			return reply.Errorf(reply.UnexpectedFrame, "heartbeat frame on non-zero channel %d", f.Channel)
		}
		return nil
	case wire.FrameMethod:
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			if isAccessRequest(f) {
				return c.accessRequestOk(f.Channel)
			}
			return methodDecodeError(err)
		}
		if f.Channel == 0 {
			return c.connectionMethod(m)
		}
		return c.channelMethod(f.Channel, m)
	default: // header or body
		if f.Channel == 0 {
			return reply.Errorf(reply.UnexpectedFrame, "content frame on channel 0")
		}
		ch, ok := c.channels[f.Channel]
		if !ok {
			return reply.Errorf(reply.ChannelError, "expected 'channel.open'")
		}
		return ch.content(f)
	}
}

// connectionMethod handles a method on channel 0.
func (c *Conn) connectionMethod(m wire.Method) error {
	switch m := m.(type) {
	case *wire.ConnectionClose:
		c.pub.barrier() // publishes before close are stored, as RabbitMQ's are
		c.releaseLocked()
		_ = c.out.method(0, &wire.ConnectionCloseOk{})
		c.closing = true
		c.out.close() // flush close-ok, then the loop ends on EOF
		return nil
	case *wire.ConnectionCloseOk:
		return nil
	case *wire.ConnectionUpdateSecret:
		return reply.Errorf(reply.NotAllowed, "update-secret is not supported")
	default:
		return reply.Errorf(reply.CommandInvalid, "unexpected method '%s' on channel 0", m.Name())
	}
}

// channelMethod handles a method on a non-zero channel.
func (c *Conn) channelMethod(id uint16, m wire.Method) error {
	ch, open := c.channels[id]
	if _, isOpen := m.(*wire.ChannelOpen); isOpen {
		if open {
			return reply.Errorf(reply.ChannelError, "second 'channel.open' seen")
		}
		return c.openChannel(id)
	}
	if !open {
		return reply.Errorf(reply.ChannelError, "expected 'channel.open'")
	}
	if ch.closing.Load() {
		// After channel.close, only close-ok (or close) matter (spec 4.2.5.1).
		return ch.whileClosing(m)
	}
	if err := ch.handle(m); err != nil {
		return ch.wrap(err, m)
	}
	return nil
}

func (c *Conn) openChannel(id uint16) error {
	// channel_max bounds how many channels are open, not their ids (RabbitMQ 3.10).
	if len(c.channels) >= int(c.channelMax) {
		return reply.Errorf(reply.NotAllowed,
			"number of channels opened (%d) has reached the negotiated channel_max (%d)", len(c.channels), c.channelMax)
	}
	ch := newChannel(c, id)
	c.channels[id] = ch
	return c.out.method(id, &wire.ChannelOpenOk{})
}

// closeChannelLocked sends channel.close for a soft error and releases the
// channel's consumers and unacked messages at once, as RabbitMQ does.
func (c *Conn) closeChannelLocked(ch *channel, e *reply.Error) {
	c.pub.barrier() // confirms of earlier publishes go out before channel.close
	ch.closing.Store(true)
	ch.release()
	_ = c.out.method(ch.id, &wire.ChannelClose{
		ReplyCode: e.Code, ReplyText: e.ReplyText(), ClassId: e.ClassID, MethodId: e.MethodID,
	})
}

// access.request (class 30) is an AMQP 0-8 leftover that the 0-9-1 spec
// dropped; RabbitMQ answers it as a no-op for old clients, so Warren does too.
var (
	accessRequest   = []byte{0, 30, 0, 10}
	accessRequestOk = []byte{0, 30, 0, 11, 0, 1}
)

func isAccessRequest(f wire.Frame) bool {
	return len(f.Payload) >= 4 && string(f.Payload[:4]) == string(accessRequest)
}

func (c *Conn) accessRequestOk(ch uint16) error {
	if _, open := c.channels[ch]; !open || ch == 0 {
		return reply.Errorf(reply.ChannelError, "expected 'channel.open'")
	}
	return c.out.with(func(w *wire.FrameWriter) error {
		return w.WriteFrame(wire.Frame{Type: wire.FrameMethod, Channel: ch, Payload: accessRequestOk})
	})
}
