package e2e

// RabbitMQ's management HTTP API: Warren answers the same calls with the
// shapes RabbitMQ 3.10.8 gave (testdata/rabbitmq-3.10, recorded from a
// real one), status codes and error bodies included, and lists and
// closes connections held by the gateways. Skips against an external
// broker (its users and topology are not the recorded ones).

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// mgmtAPI is the management API of the Warren under test, logging in as
// one instance's user.
type mgmtAPI struct {
	base, user, password string
}

// mgmtTenant is an instance holding the recorded RabbitMQ's definitions,
// with its guest (administrator, password guest) for the management API.
func mgmtTenant(t *testing.T) (tenant, mgmtAPI) {
	t.Helper()
	tn := newTenant(t, `{}`)
	tn.api.call(t, tn.api.token, "POST", tn.path("/definitions"), rabbitExport(t)).must(t, "import", 200)
	return tn, mgmtAPI{base: tn.api.base, user: tn.name + ":guest", password: "guest"}
}

func (m mgmtAPI) as(user, password string) mgmtAPI { m.user, m.password = user, password; return m }

// do sends one request and returns the status and the raw body.
func (m mgmtAPI) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, m.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if m.user != "" {
		req.SetBasicAuth(m.user, m.password)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (m mgmtAPI) get(t *testing.T, path string) any {
	t.Helper()
	status, b := m.do(t, "GET", path, "")
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

func recorded(t *testing.T, file string) any {
	t.Helper()
	b, err := os.ReadFile("testdata/rabbitmq-3.10/" + file + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// freeForm are objects whose keys are data (argument names, node names),
// compared as objects only.
var freeForm = map[string]bool{"arguments": true, "definition": true, "cluster_state": true,
	"effective_policy_definition": true, "client_properties": true, "message_stats": true, "churn_rates": true}

// notMeasured are RabbitMQ fields Warren leaves out: the Erlang VM's
// internals and counters it does not keep (RAM, paging, persistence).
var notMeasured = map[string]bool{"backing_queue_status": true, "garbage_collection": true, "reductions": true,
	"reductions_details": true, "idle_since": true, "messages_paged_out": true, "messages_persistent": true,
	"messages_ram": true, "messages_ready_ram": true, "messages_unacknowledged_ram": true,
	"message_bytes_paged_out": true, "message_bytes_persistent": true, "message_bytes_ram": true}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// sameShape reports where warren's JSON differs from RabbitMQ's: a field
// RabbitMQ has that Warren lacks (unless notMeasured), a field RabbitMQ
// does not have, or a value of another JSON type (null stands for any).
func sameShape(where string, warren, rabbit any) []string {
	wk, rk := jsonKind(warren), jsonKind(rabbit)
	if wk != rk {
		if rk == "null" {
			return nil // RabbitMQ's null (an idle_since, a head timestamp) may be a value here
		}
		return []string{where + ": " + wk + ", RabbitMQ has " + rk}
	}
	switch r := rabbit.(type) {
	case map[string]any:
		return sameObject(where, warren.(map[string]any), r)
	case []any:
		if w := warren.([]any); len(w) > 0 && len(r) > 0 {
			return sameShape(where+"[0]", w[0], r[0])
		}
	}
	return nil
}

func sameObject(where string, w, r map[string]any) []string {
	var diffs []string
	for k, rv := range r {
		wv, ok := w[k]
		switch {
		case !ok && !notMeasured[k]:
			diffs = append(diffs, where+"."+k+": missing")
		case ok && !freeForm[k]:
			diffs = append(diffs, sameShape(where+"."+k, wv, rv)...)
		}
	}
	for k := range w {
		if _, ok := r[k]; !ok {
			diffs = append(diffs, where+"."+k+": RabbitMQ has no such field")
		}
	}
	sort.Strings(diffs)
	return diffs
}

func TestManagementAPIShapesAsRabbitMQ(t *testing.T) {
	pending(t)
	_, api := mgmtTenant(t)
	for file, path := range map[string]string{
		"overview": "/api/overview", "whoami": "/api/whoami", "vhosts": "/api/vhosts", "vhost": "/api/vhosts/prod",
		"users": "/api/users", "user": "/api/users/app", "permissions": "/api/permissions",
		"permission": "/api/permissions/prod/app", "exchanges-prod": "/api/exchanges/prod",
		"exchange": "/api/exchanges/prod/orders", "queues-prod": "/api/queues/prod",
		"queue": "/api/queues/prod/orders.new", "bindings-prod": "/api/bindings/prod",
		"policies": "/api/policies", "policy": "/api/policies/prod/ttl", "definitions": "/api/definitions",
	} {
		if diffs := sameShape(file, api.get(t, path), recorded(t, file)); len(diffs) > 0 {
			t.Errorf("GET %s differs from RabbitMQ 3.10.8's:\n  %s", path, strings.Join(diffs, "\n  "))
		}
	}
	// Values too, where they do not depend on the broker.
	if q := api.get(t, "/api/queues/prod/orders.new").(map[string]any); q["durable"] != true ||
		q["arguments"].(map[string]any)["x-message-ttl"] != 60000.0 {
		t.Errorf("queue %v", q)
	}
	var keys []string
	for _, b := range api.get(t, "/api/bindings/prod").([]any) {
		keys = append(keys, b.(map[string]any)["properties_key"].(string))
	}
	if !strings.Contains(strings.Join(keys, " "), "order.%2A.new") {
		t.Errorf("properties keys %v: want RabbitMQ's quoting of order.*.new", keys)
	}
}

func TestManagementAPIStatusesAndErrors(t *testing.T) {
	pending(t)
	tn, api := mgmtTenant(t)
	const (
		notFound = `{"error":"Object Not Found","reason":"Not Found"}`
		login    = `{"error":"not_authorized","reason":"Login failed"}`
		notAdmin = `{"error":"not_authorised","reason":"Not administrator user"}`
		refused  = `{"error":"not_authorised","reason":"Access refused."}`
	)
	app := api.as(tn.name+":app", "s3cret") // monitoring
	for _, c := range []struct {
		what   string
		api    mgmtAPI
		method string
		path   string
		body   string
		status int
		want   string // exact body, when set
	}{
		{"new queue", api, "PUT", "/api/queues/prod/q2", `{"durable":true}`, 201, ""},
		{"existing queue", api, "PUT", "/api/queues/prod/q2", `{"durable":true}`, 204, ""},
		{"inequivalent", api, "PUT", "/api/queues/prod/orders.new", `{"durable":false}`, 400, ""},
		{"delete", api, "DELETE", "/api/queues/prod/q2", "", 204, ""},
		{"delete again", api, "DELETE", "/api/queues/prod/q2", "", 404, notFound},
		{"unknown vhost", api, "GET", "/api/queues/nope", "", 404, notFound},
		{"exchange in an unknown vhost", api, "PUT", "/api/exchanges/nope/x", `{"type":"direct"}`, 404, `{"error":"not_found","reason":"vhost_not_found"}`},
		{"reserved name", api, "PUT", "/api/exchanges/prod/amq.x", `{"type":"direct"}`, 401, refused},
		{"system exchange", api, "DELETE", "/api/exchanges/prod/amq.direct", "", 401, refused},
		{"unknown type", api, "PUT", "/api/exchanges/prod/e1", `{"type":"nope"}`, 400, ""},
		{"bad argument", api, "PUT", "/api/queues/prod/qx", `{"arguments":{"x-message-ttl":"x"}}`, 400, ""},
		{"permission missing keys", api, "PUT", "/api/permissions/prod/app", `{"configure":".*"}`, 400, ""},
		{"malformed JSON", api, "PUT", "/api/queues/prod/q3", `{bad`, 400, ""},
		{"unknown field", api, "PUT", "/api/queues/prod/q3", `{"colour":"red"}`, 400, ""},
		{"256-byte name", api, "PUT", "/api/queues/prod/" + strings.Repeat("q", 256), `{}`, 400, ""},
		{"oversized body", api, "PUT", "/api/queues/prod/q3", `{"arguments":{"a":"` + strings.Repeat("x", 2<<20) + `"}}`, 413, ""},
		{"import", api, "POST", "/api/definitions", rabbitExport(t), 204, ""},
		{"no credentials", api.as("", ""), "GET", "/api/overview", "", 401, login},
		{"wrong password", api.as(tn.name+":guest", "nope"), "GET", "/api/overview", "", 401, login},
		{"the default instance's guest", api.as("guest", "guest"), "GET", "/api/users/app", "", 404, notFound},
		{"monitoring lists users", app, "GET", "/api/users", "", 401, notAdmin},
		{"monitoring exports", app, "GET", "/api/definitions", "", 401, notAdmin},
		{"monitoring reads queues", app, "GET", "/api/queues", "", 200, ""},
	} {
		status, body := c.api.do(t, c.method, c.path, c.body)
		if status != c.status || (c.want != "" && strings.TrimSpace(string(body)) != c.want) {
			t.Errorf("%s: %s %s: %d %.200s, want %d %s", c.what, c.method, c.path, status, body, c.status, c.want)
		}
		if status >= 400 && !json.Valid(body) {
			t.Errorf("%s: error body is not JSON: %.200s", c.what, body)
		}
	}
	if qs := api.get(t, "/api/queues/prod").([]any); len(qs) != 2 {
		t.Errorf("refused calls created queues: %d in prod, want orders.new and orders.dead", len(qs))
	}
}

// Connections live in the gateways: the management API lists them (from
// every gateway in the split shape) and closes one, which its client
// hears as 320 CONNECTION_FORCED.
func TestManagementAPIConnections(t *testing.T) {
	pending(t)
	tn, api := mgmtTenant(t)
	conn := dialProvisioned(t, tn.url(t, 1, "app", "s3cret", "prod"))
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	var mine map[string]any
	waitFor(t, func() bool {
		for _, c := range api.get(t, "/api/connections").([]any) {
			if m := c.(map[string]any); m["user"] == "app" {
				mine = m
			}
		}
		return mine != nil
	}, rpcTimeout, "the connection in /api/connections")
	if mine["vhost"] != "prod" || mine["protocol"] != "AMQP 0-9-1" || mine["state"] != "running" {
		t.Errorf("connection %v", mine)
	}
	name := mine["name"].(string)
	if status, b := api.do(t, "DELETE", "/api/connections/"+url.PathEscape(name), ""); status != 204 {
		t.Fatalf("close: %d %s", status, b)
	}
	err := <-closed
	var amqpErr *amqp.Error
	if !errors.As(err, &amqpErr) || amqpErr.Code != amqp.ConnectionForced {
		t.Errorf("client heard %v, want 320 CONNECTION_FORCED", err)
	}
	if status, b := api.do(t, "DELETE", "/api/connections/"+url.PathEscape(name), ""); status != 404 {
		t.Errorf("close a closed connection: %d %s", status, b)
	}
	other, _ := mgmtTenant(t)
	if conns := (mgmtAPI{base: api.base, user: other.name + ":guest", password: "guest"}).get(t, "/api/connections").([]any); len(conns) != 0 {
		t.Errorf("another instance sees connections: %v", conns)
	}
}
