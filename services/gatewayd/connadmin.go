package gatewayd

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/connadmin"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/gateway/conn"
	"github.com/warrenmq/warren/gateway/server"
)

// ConnAdmin answers the control plane's connadmin requests for one
// gateway's connections: it lists them, their channels and consumers, and
// closes one on request, for the management API's /api/connections,
// /api/channels and /api/consumers.
type ConnAdmin struct {
	ID  string // the gateway's id, reported as each connection's node
	Srv *server.Server
	Log *slog.Logger
}

// Serve answers on the connadmin subjects until the returned subscriptions
// are unsubscribed.
func (g *ConnAdmin) Serve(nc *nats.Conn) ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	for subject, h := range map[string]nats.MsgHandler{
		connadmin.ListSubject: g.answerList, connadmin.CloseSubject: g.answerClose,
		connadmin.ChannelsSubject: g.answerChannels, connadmin.ConsumersSubject: g.answerConsumers,
	} {
		sub, err := nc.Subscribe(subject, h)
		if err != nil {
			unsubscribe(subs)
			return nil, fmt.Errorf("subscribe %s: %w", subject, err)
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

func unsubscribe(subs []*nats.Subscription) {
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
}

func (g *ConnAdmin) answerList(m *nats.Msg) {
	var req connadmin.ListRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		g.Log.Warn("connadmin: bad list request", "err", err)
		return
	}
	g.respond(m, connadmin.ListReply{Gateway: g.ID, Connections: g.List(req.Instance)})
}

func (g *ConnAdmin) answerClose(m *nats.Msg) {
	var req connadmin.CloseRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		g.Log.Warn("connadmin: bad close request", "err", err)
		return
	}
	g.respond(m, connadmin.CloseReply{Found: g.Close(req.Instance, req.Name, req.Reason)})
}

func (g *ConnAdmin) respond(m *nats.Msg, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		err = m.Respond(b)
	}
	if err != nil {
		g.Log.Warn("connadmin: answering", "err", err)
	}
}

// openConn is an open connection of an instance and its description.
type openConn struct {
	c  *conn.Conn
	in conn.Info
}

// open lists the instance's open connections on this gateway. The server's
// list is copied first: Info takes each connection's lock, which must not
// be waited for under the server's.
func (g *ConnAdmin) open(inst string) []openConn {
	var all []*conn.Conn
	g.Srv.Each(func(c *conn.Conn) { all = append(all, c) })
	var out []openConn
	for _, c := range all {
		if in, ok := c.Info(); ok && in.Identity.Instance == inst {
			out = append(out, openConn{c, in})
		}
	}
	return out
}

// List describes the instance's open connections on this gateway.
func (g *ConnAdmin) List(inst string) []connadmin.Info {
	out := []connadmin.Info{}
	for _, oc := range g.open(inst) {
		out = append(out, g.describe(oc.in))
	}
	return out
}

// Close starts closing the instance's connection called name with 320
// CONNECTION_FORCED, as RabbitMQ's management DELETE does, and reports
// whether this gateway had it.
func (g *ConnAdmin) Close(inst, name, reason string) bool {
	for _, oc := range g.open(inst) {
		if Name(oc.in) == name {
			g.Log.Info("closing connection on request", "conn", oc.in.ID, "instance", inst, "reason", reason)
			go oc.c.Close(reply.ConnectionForced, reason)
			return true
		}
	}
	return false
}

// Name is a connection's name as RabbitMQ gives it: "<peer> -> <local>".
func Name(in conn.Info) string { return in.Peer.String() + " -> " + in.Local.String() }

func (g *ConnAdmin) describe(in conn.Info) connadmin.Info {
	peerHost, peerPort := hostPort(in.Peer)
	host, port := hostPort(in.Local)
	return connadmin.Info{Name: Name(in), Node: g.ID, VHost: in.Identity.VHost, User: in.Identity.User,
		State: "running", Channels: in.Channels, Protocol: "AMQP 0-9-1", AuthMechanism: "PLAIN",
		PeerHost: peerHost, PeerPort: peerPort, Host: host, Port: port,
		Timeout: int(in.Heartbeat.Seconds()), FrameMax: int(in.FrameMax), ChannelMax: int(in.ChannelMax),
		ClientProperties: map[string]any{"capabilities": amqp.TableToJSON(in.ClientCapabilities)}, Type: "network"}
}

func hostPort(a net.Addr) (string, int) {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String(), tcp.Port
	}
	return a.String(), 0
}
