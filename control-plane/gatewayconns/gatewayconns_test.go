package gatewayconns

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/connadmin"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
)

// gateway answers connadmin requests as a gateway with conns would.
func gateway(t *testing.T, nc *nats.Conn, id string, conns map[string][]connadmin.Info) {
	t.Helper()
	_, err := nc.Subscribe(connadmin.ListSubject, func(m *nats.Msg) {
		var req connadmin.ListRequest
		_ = json.Unmarshal(m.Data, &req)
		b, _ := json.Marshal(connadmin.ListReply{Gateway: id, Connections: conns[req.Instance]})
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nc.Subscribe(connadmin.CloseSubject, func(m *nats.Msg) {
		var req connadmin.CloseRequest
		_ = json.Unmarshal(m.Data, &req)
		found := false
		for _, c := range conns[req.Instance] {
			found = found || c.Name == req.Name
		}
		b, _ := json.Marshal(connadmin.CloseReply{Found: found})
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestListAndCloseAcrossGateways(t *testing.T) {
	nc, _ := natstest.JetStream(t)
	gateway(t, nc, "g1", map[string][]connadmin.Info{"acme": {{Name: "a -> g1"}}, "other": {{Name: "o -> g1"}}})
	gateway(t, nc, "g2", map[string][]connadmin.Info{"acme": {{Name: "b -> g2"}}})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	c := New(nc, func(context.Context) int { return 2 })
	c.wait = time.Minute // both gateways answer; the count ends the gathering
	ctx := context.Background()
	list, err := c.List(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range list {
		names = append(names, in.Name)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "a -> g1" || names[1] != "b -> g2" {
		t.Errorf("acme's connections %v: want one from each gateway, none of other's", names)
	}
	for name, want := range map[string]bool{"b -> g2": true, "o -> g1": false, "nope": false} {
		if found, err := c.Close(ctx, "acme", name, "test"); err != nil || found != want {
			t.Errorf("close %q in acme: found=%v err=%v, want %v", name, found, err, want)
		}
	}
}

// answer has a stub gateway answer subject with reply(instance).
func answer(t *testing.T, nc *nats.Conn, subject string, reply func(inst string) any) {
	t.Helper()
	_, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var req connadmin.ListRequest
		_ = json.Unmarshal(m.Data, &req)
		b, _ := json.Marshal(reply(req.Instance))
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestChannelsAndConsumersAcrossGateways(t *testing.T) {
	nc, _ := natstest.JetStream(t)
	for _, gw := range []string{"g1", "g2"} {
		answer(t, nc, connadmin.ChannelsSubject, func(inst string) any {
			return connadmin.ChannelsReply{Gateway: gw, Channels: []connadmin.Channel{{Name: inst + " on " + gw}}}
		})
		answer(t, nc, connadmin.ConsumersSubject, func(inst string) any {
			return connadmin.ConsumersReply{Gateway: gw, Consumers: []connadmin.Consumer{{ConsumerTag: inst + " on " + gw}}}
		})
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	c := New(nc, func(context.Context) int { return 2 })
	c.wait = time.Minute
	chs, err := c.Channels(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ch := range chs {
		names = append(names, ch.Name)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "acme on g1" || names[1] != "acme on g2" {
		t.Errorf("channels %v: want acme's from each gateway", names)
	}
	cons, err := c.Consumers(context.Background(), "acme")
	if err != nil || len(cons) != 2 {
		t.Fatalf("consumers %v (%v): want one from each gateway", cons, err)
	}
}
