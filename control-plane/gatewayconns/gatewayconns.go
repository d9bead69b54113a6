// Package gatewayconns lists and closes the AMQP connections the gateways
// hold, and lists their channels and consumers, for the management API, over the connadmin request/reply
// protocol on core NATS: a request goes to every gateway, and the replies
// are gathered until every live gateway has answered or the deadline
// passes (a gateway that does not answer in time is left out).
package gatewayconns

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/connadmin"
)

// DefaultWait bounds a gathering: a live gateway answers in
// milliseconds; one that is hung must not hang the API.
const DefaultWait = time.Second

// Client asks the gateways.
type Client struct {
	nc *nats.Conn
	// gateways is how many gateways should answer (the live ones in the
	// registry); gathering stops at that many replies.
	gateways func(ctx context.Context) int
	wait     time.Duration
}

// New returns a client over nc; gateways counts the live gateways.
func New(nc *nats.Conn, gateways func(ctx context.Context) int) *Client {
	return &Client{nc: nc, gateways: gateways, wait: DefaultWait}
}

// List returns the instance's connections on every gateway that answered.
func (c *Client) List(ctx context.Context, inst string) ([]connadmin.Info, error) {
	return collect(ctx, c, connadmin.ListSubject, inst, func(r connadmin.ListReply) []connadmin.Info { return r.Connections })
}

// Channels returns the channels of the instance's connections on every
// gateway that answered.
func (c *Client) Channels(ctx context.Context, inst string) ([]connadmin.Channel, error) {
	return collect(ctx, c, connadmin.ChannelsSubject, inst, func(r connadmin.ChannelsReply) []connadmin.Channel { return r.Channels })
}

// Consumers returns the consumers of the instance's connections on every
// gateway that answered.
func (c *Client) Consumers(ctx context.Context, inst string) ([]connadmin.Consumer, error) {
	return collect(ctx, c, connadmin.ConsumersSubject, inst, func(r connadmin.ConsumersReply) []connadmin.Consumer { return r.Consumers })
}

// collect asks every gateway on subject about inst and joins the items of
// the replies (R) that decode; a reply that does not is left out.
func collect[R, T any](ctx context.Context, c *Client, subject, inst string, items func(R) []T) ([]T, error) {
	var out []T
	err := c.gather(ctx, subject, connadmin.ListRequest{Instance: inst}, func(data []byte) bool {
		var r R
		if json.Unmarshal(data, &r) == nil {
			out = append(out, items(r)...)
		}
		return false
	})
	return out, err
}

// Close asks every gateway to close the named connection of inst; found
// is whether one had it.
func (c *Client) Close(ctx context.Context, inst, name, reason string) (bool, error) {
	found := false
	req := connadmin.CloseRequest{Instance: inst, Name: name, Reason: reason}
	err := c.gather(ctx, connadmin.CloseSubject, req, func(data []byte) bool {
		var r connadmin.CloseReply
		found = found || (json.Unmarshal(data, &r) == nil && r.Found)
		return found
	})
	return found, err
}

// gather publishes req on subject with a private inbox for replies and
// hands each reply to take until take says it is done, every expected
// gateway has answered, or the wait ends.
func (c *Client) gather(ctx context.Context, subject string, req any, take func([]byte) bool) error {
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", inbox, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest(subject, inbox, data); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	expected := c.gateways(ctx)
	ctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	for n := 0; n < expected; n++ {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil // the deadline: what arrived is the answer
		}
		if take(m.Data) {
			return nil
		}
	}
	return nil
}
