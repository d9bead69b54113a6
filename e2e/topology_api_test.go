package e2e

// The provisioning API's topology endpoints and RabbitMQ definitions:
// what REST declares routes AMQP traffic, and a RabbitMQ 3.10 export
// imports into an instance with the same topology. Skips against an
// external broker.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestRESTTopologyRoutesAMQP(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	for _, c := range []struct{ what, path, body string }{
		{"exchange", "/exchanges", `{"vhost":"/","name":"orders","type":"topic"}`},
		{"queue", "/queues", `{"vhost":"/","name":"orders.new","arguments":{"x-max-length":100}}`},
		{"binding", "/bindings", `{"vhost":"/","source":"orders","destination":"orders.new","destination_type":"queue","routing_key":"order.*"}`},
	} {
		tn.api.call(t, tn.api.token, "POST", tn.path(c.path), c.body).must(t, c.what, 200)
	}
	ch := openChannel(t, dialProvisioned(t, tn.url(t, 1, "app", "pw", "/")))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "orders", "order.new", false, false,
			amqp.Publishing{Body: []byte(fmt.Sprint(i))})
		if err != nil || !dc.Wait() {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	q := tn.api.call(t, tn.api.token, "GET", tn.path("/queues/%2F/orders.new"), "").must(t, "read queue", 200).body
	stats, _ := q["stats"].(map[string]any)
	_, hot := stats["hot_bytes"]
	_, cold := stats["cold_bytes"]
	if stats["messages_ready"] != "2" || !hot || !cold {
		t.Errorf("queue %v: two messages ready through the REST binding; hot and cold bytes reported", q)
	}
	if args, _ := q["arguments"].(map[string]any); args["x-max-length"] != 100.0 {
		t.Errorf("arguments %v", q["arguments"])
	}
	p := tn.api.call(t, tn.api.token, "DELETE", tn.path("/queues/%2F/orders.new/contents"), "").must(t, "purge", 200).body
	if p["message_count"] != "2" {
		t.Errorf("purge %v", p)
	}
}

func TestRESTTopologyBadInput(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	tn.api.call(t, tn.api.token, "POST", tn.path("/queues"), `{"vhost":"/","name":"q"}`).must(t, "queue", 200)
	for _, c := range []struct {
		what, method, path, body string
		status                   int
		code                     string
	}{
		{"reserved exchange name", "POST", "/exchanges", `{"vhost":"/","name":"amq.mine","type":"direct"}`, 400, "invalid_argument"},
		{"reserved queue name", "POST", "/queues", `{"vhost":"/","name":"amq.q"}`, 400, "invalid_argument"},
		{"empty queue name", "POST", "/queues", `{"vhost":"/","name":""}`, 400, "invalid_argument"},
		{"256-byte queue name", "POST", "/queues", `{"vhost":"/","name":"` + strings.Repeat("q", 256) + `"}`, 400, "invalid_argument"},
		{"unknown exchange type", "POST", "/exchanges", `{"vhost":"/","name":"x","type":"x-nope"}`, 400, "invalid_argument"},
		{"bad queue argument", "POST", "/queues", `{"vhost":"/","name":"q2","arguments":{"x-max-length":"many"}}`, 400, "invalid_argument"},
		{"unknown field", "POST", "/queues", `{"vhost":"/","name":"q3","colour":"red"}`, 400, "invalid_argument"},
		{"malformed JSON", "POST", "/exchanges", `{"vhost":`, 400, "invalid_argument"},
		{"inequivalent redeclare", "POST", "/queues", `{"vhost":"/","name":"q","durable":false}`, 409, "failed_precondition"},
		{"missing vhost", "POST", "/queues", `{"vhost":"nope","name":"q4"}`, 404, "not_found"},
		{"binding to a missing queue", "POST", "/bindings", `{"vhost":"/","source":"amq.direct","destination":"nope","destination_type":"queue"}`, 404, "not_found"},
		{"unsupported policy key", "PUT", "/policies/%2F/p", `{"pattern":".*","definition":{"ha-mode":"all"}}`, 400, "invalid_argument"},
		{"oversized body", "POST", "/queues", `{"vhost":"/","name":"` + strings.Repeat("q", 2<<20) + `"}`, 413, "payload_too_large"},
		{"no token", "GET", "/queues", "", 401, "unauthenticated"},
	} {
		token := tn.api.token
		if c.code == "unauthenticated" {
			token = ""
		}
		tn.api.call(t, token, c.method, tn.path(c.path), c.body).refused(t, c.what, c.status, c.code)
	}
	qs := tn.api.call(t, tn.api.token, "GET", tn.path("/queues"), "").must(t, "list queues", 200).body
	if l, _ := qs["queues"].([]any); len(l) != 1 {
		t.Errorf("refused declares left queues: %v", qs)
	}
	ps := tn.api.call(t, tn.api.token, "GET", tn.path("/policies"), "").must(t, "list policies", 200).body
	if l, _ := ps["policies"].([]any); len(l) != 0 {
		t.Errorf("a refused policy was stored: %v", ps)
	}
}

// rabbitExport is GET /api/definitions from a real RabbitMQ 3.10.8
// (testdata/rabbitmq-3.10/README.md says how it was made).
func rabbitExport(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/rabbitmq-3.10/definitions.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// topologyOf reduces definitions to sorted, comparable lines per section:
// what RabbitMQ and Warren must agree on.
func topologyOf(t *testing.T, defs map[string]any) map[string][]string {
	t.Helper()
	keep := map[string][]string{
		"vhosts":      {"name"},
		"users":       {"name", "password_hash", "hashing_algorithm", "tags"},
		"permissions": {"user", "vhost", "configure", "write", "read"},
		"policies":    {"vhost", "name", "pattern", "apply-to", "definition", "priority"},
		"exchanges":   {"vhost", "name", "type", "durable", "auto_delete", "internal", "arguments"},
		"queues":      {"vhost", "name", "durable", "auto_delete", "arguments"},
		"bindings":    {"vhost", "source", "destination", "destination_type", "routing_key", "arguments"},
	}
	out := map[string][]string{}
	for section, fields := range keep {
		list, _ := defs[section].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			var parts []string
			for _, f := range fields {
				b, _ := json.Marshal(m[f]) // map keys marshal sorted
				parts = append(parts, f+"="+string(b))
			}
			out[section] = append(out[section], strings.Join(parts, " "))
		}
		sort.Strings(out[section])
	}
	return out
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A RabbitMQ user moves an instance over in one call: the export imports,
// Warren's export of the result has the same topology, and the imported
// users, permissions and bindings work over AMQP.
func TestDefinitionsFromRabbitMQ(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	export := rabbitExport(t)
	res := tn.api.call(t, tn.api.token, "POST", tn.path("/definitions"), export).must(t, "import", 200).body
	if res["queues"] != 3.0 || res["bindings"] != 5.0 {
		t.Errorf("import reports %v", res)
	}
	ours := tn.api.call(t, tn.api.token, "GET", tn.path("/definitions"), "").must(t, "export", 200).body
	want, got := topologyOf(t, decodeJSON(t, export)), topologyOf(t, ours)
	for section := range want {
		if strings.Join(got[section], "\n") != strings.Join(want[section], "\n") {
			t.Errorf("%s differ:\nWarren:   %q\nRabbitMQ: %q", section, got[section], want[section])
		}
	}
	// app's password is s3cret (README); orders routes order.*.new to orders.new.
	ch := openChannel(t, dialProvisioned(t, tn.url(t, 0, "app", "s3cret", "prod")))
	if err := ch.PublishWithContext(context.Background(), "orders", "order.eu.new", false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, ok, err := ch.Get("orders.new", true)
		return err == nil && ok
	}, rpcTimeout, "the message routed by the imported binding")
}

// A definitions file with anything wrong is refused whole: nothing of it
// is created, not even the entries before the fault.
func TestDefinitionsBadInput(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	head := `{"vhosts":[{"name":"v"}],"users":[{"name":"u","password_hash":"","hashing_algorithm":"","tags":[]}],`
	for _, c := range []struct {
		what, body string
		status     int
		code       string
	}{
		{"malformed JSON", `{"vhosts":[`, 400, "invalid_argument"},
		{"not an object", `[]`, 400, "invalid_argument"},
		{"unknown section", head + `"shovels":[]}`, 400, "invalid_argument"},
		{"unknown field in an entry", head + `"queues":[{"name":"q","vhost":"v","colour":"red"}]}`, 400, "invalid_argument"},
		{"reserved queue name", head + `"queues":[{"name":"amq.q","vhost":"v"}]}`, 400, "invalid_argument"},
		{"256-byte exchange name", head + `"exchanges":[{"name":"` + strings.Repeat("x", 256) + `","vhost":"v","type":"direct"}]}`, 400, "invalid_argument"},
		{"federation parameters", head + `"parameters":[{"component":"federation-upstream","name":"u","vhost":"v","value":{}}]}`, 400, "invalid_argument"},
		{"binding to a missing queue", head + `"bindings":[{"source":"amq.direct","vhost":"v","destination":"q","destination_type":"queue","routing_key":"","arguments":{}}]}`, 404, "not_found"},
		{"oversized (16 MiB is the cap)", head + `"policies":[{"name":"` + strings.Repeat("p", 17<<20) + `"}]}`, 413, "payload_too_large"},
	} {
		tn.api.call(t, tn.api.token, "POST", tn.path("/definitions"), c.body).refused(t, c.what, c.status, c.code)
	}
	vhosts := tn.api.call(t, tn.api.token, "GET", tn.path("/vhosts"), "").must(t, "vhosts", 200).body
	users := tn.api.call(t, tn.api.token, "GET", tn.path("/users"), "").must(t, "users", 200).body
	if l, _ := vhosts["vhosts"].([]any); len(l) != 1 {
		t.Errorf("refused imports created vhosts: %v", vhosts)
	}
	if l, _ := users["users"].([]any); len(l) != 0 {
		t.Errorf("refused imports created users: %v", users)
	}
}
