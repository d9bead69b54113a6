package mgmtapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/apiauth"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
	"github.com/warrenmq/warren/control-plane/provision"
	"github.com/warrenmq/warren/control-plane/topo"
)

// queueNode keeps which queues exist; the other methods are not called.
// Every queue has the same stats, with counts and rates (zero by default).
type queueNode struct {
	storage.Node
	mu     sync.Mutex
	queues map[storage.QueueID]bool
	counts storage.MessageCounts
	rates  storage.MessageRates
}

func (n *queueNode) CreateQueue(_ context.Context, spec storage.QueueSpec) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queues[spec.ID] = true
	return nil
}

func (n *queueNode) DeleteQueue(_ context.Context, id storage.QueueID, _, _ bool) (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.queues, id)
	return 0, nil
}

func (n *queueNode) Stats(_ context.Context, id storage.QueueID) (storage.QueueStats, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.queues[id] {
		return storage.QueueStats{}, reply.Errorf(reply.NotFound, "no queue")
	}
	return storage.QueueStats{Ready: 4, Unacked: 1, Consumers: 2, Counts: n.counts, Rates: n.rates}, nil
}

func (n *queueNode) Touch(context.Context, storage.QueueID) error { return nil }

// server is the management API over a real provisioning service on an
// embedded JetStream server, with the default instance seeded (guest)
// and the instance "acme" with users of each tag.
type server struct {
	*httptest.Server
	svc   *provision.Service
	admin context.Context
	node  *queueNode
}

func newServer(t *testing.T) *server {
	t.Helper()
	return newServerWith(t, nil, nil)
}

// newServerWith is newServer with the gateways' connections and the
// storage nodes' alarms answered by conns and alarms.
func newServerWith(t *testing.T, conns Connections, alarms Alarms) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	_, js := natstest.JetStream(t)
	kv, m := natstest.Topology(ctx, t, js)
	tokens, err := apiauth.Open(ctx, js, "mgmtapi-test-admin-token")
	if err != nil {
		t.Fatal(err)
	}
	node := &queueNode{queues: map[storage.QueueID]bool{}}
	tp := topo.New(kv, m, topo.StaticNodes{"n1": node}, slog.Default())
	svc := provision.New(kv, m, tp, tokens, provision.Options{}, slog.Default())
	if err := svc.EnsureDefault(ctx); err != nil {
		t.Fatal(err)
	}
	h := Handler(svc, m, conns, Options{DefaultInstance: topology.DefaultInstance, MaxBodyBytes: 4096, Alarms: alarms})
	mux := http.NewServeMux()
	mux.Handle("/api/", h)
	s := &server{Server: httptest.NewServer(mux), svc: svc, admin: apiauth.WithPrincipal(ctx, apiauth.Principal{Admin: true}), node: node}
	t.Cleanup(s.Close)
	s.seedAcme(t)
	return s
}

func (s *server) seedAcme(t *testing.T) {
	t.Helper()
	if _, err := s.svc.CreateInstance(s.admin, &pb.CreateInstanceRequest{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	for user, tag := range map[string]string{"ops": "administrator", "mon": "monitoring", "app": "management", "pol": "policymaker", "none": ""} {
		var tags []string
		if tag != "" {
			tags = []string{tag}
		}
		if _, err := s.svc.CreateUser(s.admin, &pb.CreateUserRequest{Instance: "acme", Name: user, Password: "pw", Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"ops", "app", "pol"} {
		expr := map[string]string{"ops": ".*", "app": `^app\.`, "pol": ".*"}[user]
		_, err := s.svc.SetPermission(s.admin, &pb.SetPermissionRequest{Instance: "acme", Vhost: "/", User: user,
			Configure: &expr, Write: &expr, Read: &expr})
		if err != nil {
			t.Fatal(err)
		}
	}
}

type req struct {
	name, method, path, user, body string
	status                         int
	errBody                        string // the exact error body, for refusals
}

func (s *server) do(t *testing.T, r req) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, _ := http.NewRequest(r.method, s.URL+r.path, body)
	if r.user != "" {
		name, pw, _ := strings.Cut(r.user, "/")
		hr.SetBasicAuth(name, pw)
	}
	resp, err := s.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != r.status {
		t.Errorf("%s: %s %s as %q: %d %s, want %d", r.name, r.method, r.path, r.user, resp.StatusCode, b, r.status)
	}
	if r.errBody != "" && strings.TrimSpace(string(b)) != r.errBody {
		t.Errorf("%s: body %s, want %s", r.name, b, r.errBody)
	}
	return resp, b
}

const (
	loginFailed   = `{"error":"not_authorized","reason":"Login failed"}`
	notAdmin      = `{"error":"not_authorised","reason":"Not administrator user"}`
	notManagement = `{"error":"not_authorised","reason":"Not management user"}`
	refused       = `{"error":"not_authorised","reason":"Access refused."}`
	notFound      = `{"error":"Object Not Found","reason":"Not Found"}`
)

func TestLoginsAndTags(t *testing.T) {
	s := newServer(t)
	for _, r := range []req{
		{name: "guest of the default instance", method: "GET", path: "/api/overview", user: "guest/guest", status: 200},
		{name: "an instance's administrator", method: "GET", path: "/api/users", user: "acme:ops/pw", status: 200},
		{name: "no credentials", method: "GET", path: "/api/overview", status: 401, errBody: loginFailed},
		{name: "wrong password", method: "GET", path: "/api/overview", user: "guest/nope", status: 401, errBody: loginFailed},
		{name: "user of another instance", method: "GET", path: "/api/overview", user: "ops/pw", status: 401, errBody: loginFailed},
		{name: "unknown instance", method: "GET", path: "/api/overview", user: "nope:guest/guest", status: 401, errBody: loginFailed},
		{name: "no tags", method: "GET", path: "/api/overview", user: "acme:none/pw", status: 401, errBody: notManagement},
		{name: "monitoring reads users? no", method: "GET", path: "/api/users", user: "acme:mon/pw", status: 401, errBody: notAdmin},
		{name: "management exports? no", method: "GET", path: "/api/definitions", user: "acme:app/pw", status: 401, errBody: notAdmin},
		{name: "management makes policies? no", method: "PUT", path: "/api/policies/%2F/p", user: "acme:app/pw",
			body: `{"pattern":".*","definition":{"expires":1}}`, status: 401},
		{name: "policymaker makes policies", method: "PUT", path: "/api/policies/%2F/p", user: "acme:pol/pw",
			body: `{"pattern":".*","definition":{"expires":1},"apply-to":"queues"}`, status: 201},
		{name: "management declares within its permissions", method: "PUT", path: "/api/queues/%2F/app.q", user: "acme:app/pw", body: `{}`, status: 201},
		{name: "management declares outside them", method: "PUT", path: "/api/queues/%2F/other", user: "acme:app/pw", body: `{}`, status: 401, errBody: refused},
		{name: "monitoring has no permission in /", method: "PUT", path: "/api/queues/%2F/m", user: "acme:mon/pw", body: `{}`, status: 401},
		{name: "monitoring sees every vhost", method: "GET", path: "/api/queues/%2F", user: "acme:mon/pw", status: 200},
	} {
		s.do(t, r)
	}
	_, b := s.do(t, req{name: "whoami", method: "GET", path: "/api/whoami", user: "acme:pol/pw", status: 200})
	if string(b) != `{"name":"pol","tags":["policymaker"]}` {
		t.Errorf("whoami %s", b)
	}
}

func TestResourcesAsRabbitMQ(t *testing.T) {
	s := newServer(t)
	g := "guest/guest"
	for _, r := range []req{
		{name: "new vhost", method: "PUT", path: "/api/vhosts/prod", user: g, body: `{"description":"p","tags":"a,b"}`, status: 201},
		{name: "existing vhost", method: "PUT", path: "/api/vhosts/prod", user: g, body: `{"description":"q"}`, status: 204},
		{name: "permission", method: "PUT", path: "/api/permissions/prod/guest", user: g, body: `{"configure":".*","write":".*","read":".*"}`, status: 201},
		{name: "permission missing keys", method: "PUT", path: "/api/permissions/prod/guest", user: g, body: `{"configure":".*"}`, status: 400},
		{name: "exchange", method: "PUT", path: "/api/exchanges/prod/orders", user: g, body: `{"type":"topic","durable":true}`, status: 201},
		{name: "exchange again", method: "PUT", path: "/api/exchanges/prod/orders", user: g, body: `{"type":"topic"}`, status: 204},
		{name: "inequivalent", method: "PUT", path: "/api/exchanges/prod/orders", user: g, body: `{"type":"direct"}`, status: 400},
		{name: "reserved", method: "PUT", path: "/api/exchanges/prod/amq.x", user: g, body: `{"type":"direct"}`, status: 401, errBody: refused},
		{name: "unknown vhost", method: "PUT", path: "/api/exchanges/nope/x", user: g, body: `{"type":"direct"}`, status: 404,
			errBody: `{"error":"not_found","reason":"vhost_not_found"}`},
		{name: "queue", method: "PUT", path: "/api/queues/prod/orders.new", user: g, body: `{"durable":true,"arguments":{"x-message-ttl":60000}}`, status: 201},
		{name: "booleans as strings, as rabbitmqadmin sends them", method: "PUT", path: "/api/queues/prod/admin.q", user: g,
			body: `{"auto_delete":"false","durable":"true"}`, status: 201},
		{name: "bad argument", method: "PUT", path: "/api/queues/prod/bad", user: g, body: `{"arguments":{"x-message-ttl":"x"}}`, status: 400},
		{name: "unknown field", method: "PUT", path: "/api/queues/prod/q", user: g, body: `{"colour":"red"}`, status: 400},
		{name: "malformed", method: "PUT", path: "/api/queues/prod/q", user: g, body: `{bad`, status: 400},
		{name: "oversized", method: "PUT", path: "/api/queues/prod/q", user: g, body: `{"arguments":{"a":"` + strings.Repeat("x", 5000) + `"}}`, status: 413},
		{name: "bind", method: "POST", path: "/api/bindings/prod/e/orders/q/orders.new", user: g, body: `{"routing_key":"order.#","destination_type":"queue"}`, status: 201},
		{name: "default exchange by name", method: "GET", path: "/api/exchanges/prod/amq.default", user: g, status: 200},
		{name: "missing queue", method: "GET", path: "/api/queues/prod/nope", user: g, status: 404, errBody: notFound},
		{name: "unknown path", method: "GET", path: "/api/nothing", user: g, status: 404, errBody: notFound},
	} {
		s.do(t, r)
	}
	var q map[string]any
	_, b := s.do(t, req{name: "queue", method: "GET", path: "/api/queues/prod/orders.new", user: g, status: 200})
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if q["messages"] != 5.0 || q["messages_ready"] != 4.0 || q["consumers"] != 2.0 || q["arguments"].(map[string]any)["x-message-ttl"] != 60000.0 {
		t.Errorf("queue %s", b)
	}
	var bs []map[string]any
	_, b = s.do(t, req{name: "bindings", method: "GET", path: "/api/bindings/prod", user: g, status: 200})
	if err := json.Unmarshal(b, &bs); err != nil || len(bs) != 3 || bs[0]["source"] != "" || bs[2]["properties_key"] != "order.%23" {
		t.Errorf("bindings (the default exchange's implicit ones, then ours) %s", b)
	}
	_, b = s.do(t, req{name: "all bindings", method: "GET", path: "/api/bindings", user: g, status: 200})
	if err := json.Unmarshal(b, &bs); err != nil || len(bs) != 3 {
		t.Errorf("all bindings (no other vhost has any): got %s", b)
	}
	s.do(t, req{name: "unbind", method: "DELETE", path: "/api/bindings/prod/e/orders/q/orders.new/order.%2523", user: g, status: 204})
	s.do(t, req{name: "delete queue", method: "DELETE", path: "/api/queues/prod/orders.new", user: g, status: 204})
	s.do(t, req{name: "delete again", method: "DELETE", path: "/api/queues/prod/orders.new", user: g, status: 404, errBody: notFound})
}
