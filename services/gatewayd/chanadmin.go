package gatewayd

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/connadmin"
	"github.com/warrenmq/warren/gateway/conn"
)

// The management API's /api/channels and /api/consumers, answered from
// this gateway's connections as RabbitMQ 3.10 shapes them.

func (g *ConnAdmin) answerChannels(m *nats.Msg) {
	var req connadmin.ListRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		g.Log.Warn("connadmin: bad channels request", "err", err)
		return
	}
	g.respond(m, connadmin.ChannelsReply{Gateway: g.ID, Channels: g.ListChannels(req.Instance)})
}

func (g *ConnAdmin) answerConsumers(m *nats.Msg) {
	var req connadmin.ListRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		g.Log.Warn("connadmin: bad consumers request", "err", err)
		return
	}
	g.respond(m, connadmin.ConsumersReply{Gateway: g.ID, Consumers: g.ListConsumers(req.Instance)})
}

// ListChannels describes the channels of the instance's connections on
// this gateway.
func (g *ConnAdmin) ListChannels(inst string) []connadmin.Channel {
	out := []connadmin.Channel{}
	g.eachChannel(inst, func(in conn.Info, ch conn.ChannelInfo) {
		out = append(out, g.channel(in, ch))
	})
	return out
}

// ListConsumers describes the consumers of the instance's connections on
// this gateway.
func (g *ConnAdmin) ListConsumers(inst string) []connadmin.Consumer {
	out := []connadmin.Consumer{}
	g.eachChannel(inst, func(in conn.Info, ch conn.ChannelInfo) {
		for _, cons := range ch.Consumers {
			out = append(out, g.consumer(in, ch, cons))
		}
	})
	return out
}

// eachChannel calls fn with every channel of the instance's connections.
func (g *ConnAdmin) eachChannel(inst string, fn func(conn.Info, conn.ChannelInfo)) {
	for _, oc := range g.open(inst) {
		for _, ch := range oc.c.Channels() {
			fn(oc.in, ch)
		}
	}
}

// channelName is RabbitMQ's: "<connection name> (<number>)".
func channelName(in conn.Info, number uint16) string {
	return fmt.Sprintf("%s (%d)", Name(in), number)
}

func (g *ConnAdmin) channel(in conn.Info, ch conn.ChannelInfo) connadmin.Channel {
	peerHost, peerPort := hostPort(in.Peer)
	state := "running"
	if ch.Closing {
		state = "closing"
	}
	return connadmin.Channel{Name: channelName(in, ch.Number), Node: g.ID, Number: int(ch.Number),
		VHost: in.Identity.VHost, User: in.Identity.User, UserWhoPerformedAction: in.Identity.User, State: state,
		ConnectionDetails: connadmin.ConnectionDetails{Name: Name(in), PeerHost: peerHost, PeerPort: peerPort},
		Confirm:           ch.Confirm, Transactional: ch.Transactional, ConsumerCount: len(ch.Consumers),
		PrefetchCount: int(ch.Prefetch), GlobalPrefetchCount: int(ch.GlobalPrefetch),
		MessagesUnacknowledged: ch.Unacked, MessagesUncommitted: ch.Uncommitted, AcksUncommitted: ch.AcksUncommitted,
		MessageStats: map[string]any{}}
}

func (g *ConnAdmin) consumer(in conn.Info, ch conn.ChannelInfo, cons conn.ConsumerInfo) connadmin.Consumer {
	peerHost, peerPort := hostPort(in.Peer)
	return connadmin.Consumer{ConsumerTag: cons.Tag, Queue: connadmin.QueueRef{Name: cons.Queue, VHost: cons.VHost},
		ChannelDetails: connadmin.ChannelDetails{Name: channelName(in, ch.Number), Number: int(ch.Number),
			ConnectionName: Name(in), Node: g.ID, PeerHost: peerHost, PeerPort: peerPort, User: in.Identity.User},
		AckRequired: !cons.NoAck, Exclusive: cons.Exclusive, PrefetchCount: int(cons.Prefetch),
		Active: true, ActivityStatus: "up", Arguments: amqp.TableToJSON(cons.Arguments)}
}
