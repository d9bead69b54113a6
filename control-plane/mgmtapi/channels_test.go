package mgmtapi

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/warrenmq/warren/api/connadmin"
)

// gatewaysStub answers for the gateways with fixed channels and consumers
// of the instance "acme"; other instances have none.
type gatewaysStub struct{}

func (gatewaysStub) List(context.Context, string) ([]Connection, error) { return nil, nil }
func (gatewaysStub) Close(context.Context, string, string, string) (bool, error) {
	return false, nil
}

func (gatewaysStub) Channels(_ context.Context, inst string) ([]Channel, error) {
	if inst != "acme" {
		return nil, nil
	}
	return []Channel{
		{Name: "c2 (1)", User: "ops", VHost: "/", ConnectionDetails: connadmin.ConnectionDetails{Name: "c2"}},
		{Name: "c1 (1)", User: "app", VHost: "/", ConnectionDetails: connadmin.ConnectionDetails{Name: "c1"}},
		{Name: "c1 (2)", User: "app", VHost: "side", ConnectionDetails: connadmin.ConnectionDetails{Name: "c1"}},
	}, nil
}

func (gatewaysStub) Consumers(_ context.Context, inst string) ([]Consumer, error) {
	if inst != "acme" {
		return nil, nil
	}
	return []Consumer{
		{ConsumerTag: "t-ops", Queue: connadmin.QueueRef{Name: "q", VHost: "/"}, ChannelDetails: connadmin.ChannelDetails{Name: "c2 (1)", User: "ops"}},
		{ConsumerTag: "t-app", Queue: connadmin.QueueRef{Name: "app.q", VHost: "side"}, ChannelDetails: connadmin.ChannelDetails{Name: "c1 (2)", User: "app"}},
	}, nil
}

// names lists the "name" (or "consumer_tag") of each object of a JSON array.
func names(t *testing.T, body []byte, key string) []string {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	out := []string{}
	for _, o := range list {
		out = append(out, o[key].(string))
	}
	return out
}

// Channels and consumers are shown as connections are: every one to
// administrators and monitoring users, their own to other users.
func TestChannelsAndConsumersByTag(t *testing.T) {
	s := newServerWith(t, gatewaysStub{}, nil)
	for _, c := range []struct {
		path, user, key string
		want            []string
	}{
		{"/api/channels", "acme:ops/pw", "name", []string{"c1 (1)", "c1 (2)", "c2 (1)"}},
		{"/api/channels", "acme:mon/pw", "name", []string{"c1 (1)", "c1 (2)", "c2 (1)"}},
		{"/api/channels", "acme:app/pw", "name", []string{"c1 (1)", "c1 (2)"}},
		{"/api/channels", "guest/guest", "name", []string{}},
		{"/api/vhosts/side/channels", "acme:ops/pw", "name", []string{"c1 (2)"}},
		{"/api/connections/c2/channels", "acme:ops/pw", "name", []string{"c2 (1)"}},
		{"/api/connections/c2/channels", "acme:app/pw", "name", []string{}},
		{"/api/consumers", "acme:mon/pw", "consumer_tag", []string{"t-app", "t-ops"}},
		{"/api/consumers", "acme:app/pw", "consumer_tag", []string{"t-app"}},
		{"/api/consumers/%2F", "acme:ops/pw", "consumer_tag", []string{"t-ops"}},
	} {
		_, b := s.do(t, req{name: c.path, method: "GET", path: c.path, user: c.user, status: 200})
		if got := names(t, b, c.key); !slices.Equal(got, c.want) {
			t.Errorf("GET %s as %s: %v, want %v", c.path, c.user, got, c.want)
		}
	}
	s.do(t, req{name: "one channel", method: "GET", path: "/api/channels/c1%20%281%29", user: "acme:app/pw", status: 200})
	s.do(t, req{name: "another user's channel", method: "GET", path: "/api/channels/c2%20%281%29", user: "acme:app/pw",
		status: 404, errBody: notFound})
}

// Nodes are for monitoring users; the deployment is one node, whose
// alarms are its storage nodes'.
func TestNodes(t *testing.T) {
	alarms := func(context.Context) ([]Alarm, error) { return []Alarm{{Node: "sn2", Resource: "disk"}}, nil }
	s := newServerWith(t, nil, alarms)
	s.do(t, req{name: "management user", method: "GET", path: "/api/nodes", user: "acme:app/pw", status: 401,
		errBody: `{"error":"not_authorised","reason":"Not monitor user"}`})
	_, b := s.do(t, req{name: "nodes", method: "GET", path: "/api/nodes", user: "acme:mon/pw", status: 200})
	var nodes []map[string]any
	if err := json.Unmarshal(b, &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("nodes %s: %v", b, err)
	}
	if n := nodes[0]; n["name"] != "warren@localhost" || n["running"] != true || n["disk_free_alarm"] != true || n["mem_alarm"] != false {
		t.Errorf("node %v: want warren@localhost running with the disk alarm", n)
	}
	s.do(t, req{name: "the node", method: "GET", path: "/api/nodes/warren@localhost", user: "acme:mon/pw", status: 200})
	s.do(t, req{name: "another node", method: "GET", path: "/api/nodes/rabbit@x", user: "acme:mon/pw", status: 404, errBody: notFound})
}

func TestHealthChecks(t *testing.T) {
	var alarms atomic.Pointer[[]Alarm] // set by the test, read by the server
	alarms.Store(&[]Alarm{})
	s := newServerWith(t, nil, func(context.Context) ([]Alarm, error) { return *alarms.Load(), nil })
	const healthy = `{"status":"ok"}`
	for _, r := range []req{
		{name: "node", method: "GET", path: "/api/healthchecks/node", user: "acme:app/pw", status: 200, errBody: healthy},
		{name: "alarms", method: "GET", path: "/api/health/checks/alarms", user: "acme:app/pw", status: 200, errBody: healthy},
		{name: "vhosts", method: "GET", path: "/api/health/checks/virtual-hosts", user: "acme:mon/pw", status: 200, errBody: healthy},
		{name: "aliveness", method: "GET", path: "/api/aliveness-test/%2F", user: "acme:app/pw", status: 200, errBody: healthy},
		{name: "aliveness of an unknown vhost", method: "GET", path: "/api/aliveness-test/nope", user: "acme:mon/pw", status: 404, errBody: notFound},
		{name: "aliveness without access", method: "GET", path: "/api/aliveness-test/%2F", user: "acme:mon/pw", status: 401,
			errBody: `{"error":"not_authorised","reason":"User not authorised to access virtual host"}`},
		{name: "no tags", method: "GET", path: "/api/health/checks/alarms", user: "acme:none/pw", status: 401, errBody: notManagement},
	} {
		s.do(t, r)
	}
	alarms.Store(&[]Alarm{{Node: "sn1", Resource: "memory"}})
	s.do(t, req{name: "alarms in effect", method: "GET", path: "/api/health/checks/alarms", user: "acme:app/pw", status: 503,
		errBody: `{"status":"failed","reason":"There are alarms in effect in the cluster","alarms":[{"node":"sn1","resource":"memory"}]}`})
	s.do(t, req{name: "node under an alarm", method: "GET", path: "/api/healthchecks/node", user: "acme:app/pw", status: 503,
		errBody: `{"status":"failed","reason":"resource alarm(s) in effect:[{resource_limit,memory,sn1}]"}`})
}
