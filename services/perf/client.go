package perf

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// dialTimeout bounds the TCP connect and the AMQP handshake.
	dialTimeout = 30 * time.Second
	// closeTimeout bounds the connection.close handshake at shutdown; past
	// it the socket is closed without one.
	closeTimeout = 5 * time.Second
)

// client is one AMQP connection with one channel, owned by one producer,
// one consumer or the queue setup.
type client struct {
	name string // "producer 3", used in every error
	conn *amqp.Connection
	ch   *amqp.Channel
	raw  net.Conn // the socket, to close it when the broker stops answering
	// blocked is the reason of the broker's connection.blocked while it
	// lasts, nil otherwise; set by the watch goroutine.
	blocked atomic.Pointer[string]
}

// dial opens a connection and a channel. On error nothing is left open.
// With coalesce the socket is wrapped in a coalescingConn.
func dial(uri, name string, coalesce bool) (*client, error) {
	c := &client{name: name}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("warren-perf " + name)
	tcp := amqp.DefaultDial(dialTimeout)
	conn, err := amqp.DialConfig(uri, amqp.Config{
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			raw, err := tcp(network, addr)
			c.raw = raw
			if err == nil && coalesce {
				return newCoalescingConn(raw), nil
			}
			return raw, err
		},
	})
	if err != nil {
		if c.raw != nil {
			c.raw.Close()
		}
		return nil, fmt.Errorf("%s: connect: %w", name, describe(err))
	}
	c.conn = conn
	if c.ch, err = conn.Channel(); err != nil {
		c.close()
		return nil, fmt.Errorf("%s: open channel: %w", name, describe(err))
	}
	return c, nil
}

// watch calls fail with a *closedError if the broker (or the library)
// closes the connection or the channel with an error. A close that this
// process asked for reports nothing.
func (c *client) watch(fail func(error)) {
	connClosed := c.conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := c.ch.NotifyClose(make(chan *amqp.Error, 1))
	blocks := c.conn.NotifyBlocked(make(chan amqp.Blocking, 1))
	go func() {
		for b := range blocks {
			if !b.Active {
				c.blocked.Store(nil)
				continue
			}
			why := b.Reason
			c.blocked.Store(&why)
		}
	}()
	go func() {
		if e := <-connClosed; e != nil {
			fail(&closedError{who: c.name, what: "connection", err: e})
		}
	}()
	go func() {
		if e := <-chClosed; e != nil {
			fail(&closedError{who: c.name, what: "channel", err: e})
		}
	}()
}

// close closes the connection (and with it the channel), waiting at most
// closeTimeout for the broker's close-ok. Safe to call more than once.
func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.CloseDeadline(time.Now().Add(closeTimeout))
	}
	if c.raw != nil {
		_ = c.raw.Close()
	}
}

// closedError says that a connection or channel was closed with an AMQP
// reply code, by the broker (Server) or by the client library.
type closedError struct {
	who  string // "producer 3"
	what string // "connection" or "channel"
	err  *amqp.Error
}

func (e *closedError) Error() string {
	msg := fmt.Sprintf("%s closed with code %d: %s", e.what, e.err.Code, e.err.Reason)
	if e.who == "" {
		return msg
	}
	return e.who + ": " + msg
}

func (e *closedError) Unwrap() error { return e.err }

// describe rewrites an *amqp.Error returned by a synchronous method into
// "channel closed with code 406: PRECONDITION_FAILED - …": soft codes close
// the channel, hard codes the connection. Other errors pass unchanged.
func describe(err error) error {
	var ae *amqp.Error
	if !errors.As(err, &ae) {
		return err
	}
	what := "connection"
	if ae.Recover {
		what = "channel"
	}
	return &closedError{what: what, err: ae}
}
