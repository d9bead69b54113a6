package definitions

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/topology"
)

// testdata/rabbitmq-3.10.json is GET /api/definitions from a real
// RabbitMQ 3.10.8 (see e2e/testdata/rabbitmq-3.10).
func readExport(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/rabbitmq-3.10.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRabbitMQExport(t *testing.T) {
	f, err := Decode(readExport(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.Model()
	if err != nil {
		t.Fatal(err)
	}
	counts := []int{len(m.VHosts), len(m.Users), len(m.Permissions), len(m.Policies), len(m.Exchanges), len(m.Queues), len(m.Bindings)}
	if want := []int{2, 3, 3, 1, 3, 3, 5}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("vhosts, users, permissions, policies, exchanges, queues, bindings = %v, want %v", counts, want)
	}
	q := find(t, m.Queues, func(q topology.Queue) bool { return q.Name == "orders.new" })
	if q.Args["x-message-ttl"] != int64(60000) || q.Args["x-dead-letter-exchange"] != "orders.dlx" {
		t.Errorf("queue arguments %#v", q.Args)
	}
	x := find(t, m.Exchanges, func(x topology.Exchange) bool { return x.Name == "audit" })
	if !x.Internal || x.Type != topology.Headers || x.AlternateExchange != "orders.dlx" {
		t.Errorf("exchange %+v", x)
	}
	u := find(t, m.Users, func(u topology.User) bool { return u.Name == "ops" })
	if !reflect.DeepEqual(u.Tags, []string{"administrator", "policymaker"}) || u.HashingAlgorithm != "rabbit_password_hashing_sha256" {
		t.Errorf("user %+v", u)
	}
	b := find(t, m.Bindings, func(b topology.Binding) bool { return b.Source == "orders" && b.DestKind == topology.ToExchange })
	if b.Dest != "audit" || b.Key != "#" {
		t.Errorf("exchange binding %+v", b)
	}
}

func find[T any](t *testing.T, list []T, match func(T) bool) T {
	t.Helper()
	for _, v := range list {
		if match(v) {
			return v
		}
	}
	var zero T
	t.Fatalf("not found in %d entries", len(list))
	return zero
}

// An export decodes back to the model it came from.
func TestExportRoundTrip(t *testing.T) {
	f, err := Decode(readExport(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.Model()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Export(m))
	if err != nil {
		t.Fatal(err)
	}
	f2, err := Decode(b)
	if err != nil {
		t.Fatalf("decoding our own export: %v\n%s", err, b)
	}
	m2, err := f2.Model()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip changed the model:\n%+v\n%+v", m, m2)
	}
}

func TestExportEmptySectionsAreLists(t *testing.T) {
	b, err := json.Marshal(Export(&Model{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"users", "vhosts", "permissions", "policies", "queues", "exchanges", "bindings", "parameters"} {
		if !strings.Contains(string(b), `"`+section+`":[]`) {
			t.Errorf("%s is not an empty list in %s", section, b)
		}
	}
}

func TestTagsAsString(t *testing.T) {
	f, err := Decode([]byte(`{"users":[{"name":"a","password_hash":"","hashing_algorithm":"","tags":"administrator, monitoring"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Users[0].Tags; !reflect.DeepEqual([]string(got), []string{"administrator", "monitoring"}) {
		t.Fatalf("tags %q", got)
	}
}

// Every refusal names what is wrong; the model is not used.
func TestBadDefinitions(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not JSON", `{"users": [`, "unexpected EOF"},
		{"trailing data", `{} {}`, "trailing data"},
		{"unknown top-level field", `{"users":[],"shovels":[]}`, `unknown field "shovels"`},
		{"unknown entry field", `{"queues":[{"name":"q","vhost":"/","durable":true,"colour":"red"}]}`, `unknown field "colour"`},
		{"parameters", `{"parameters":[{"component":"federation-upstream"}]}`, "parameters"},
		{"topic permissions", `{"topic_permissions":[{"user":"a"}]}`, "topic_permissions"},
		{"tags of the wrong type", `{"users":[{"name":"a","tags":5}]}`, "tags must be"},
		{"reserved queue name", `{"queues":[{"name":"amq.q","vhost":"/"}]}`, "reserved prefix"},
		{"empty queue name", `{"queues":[{"name":"","vhost":"/"}]}`, "queue name must be"},
		{"long exchange name", `{"exchanges":[{"name":"` + strings.Repeat("x", 256) + `","vhost":"/","type":"direct"}]}`, "too long"},
		{"unknown exchange type", `{"exchanges":[{"name":"x","vhost":"/","type":"x-consistent-hash"}]}`, "unknown exchange type"},
		{"quorum queue", `{"queues":[{"name":"q","vhost":"/","type":"quorum"}]}`, "classic queues only"},
		{"bad queue argument", `{"queues":[{"name":"q","vhost":"/","arguments":{"x-message-ttl":"soon"}}]}`, "x-message-ttl"},
		{"bad hash", `{"users":[{"name":"a","password_hash":"!!","hashing_algorithm":"rabbit_password_hashing_sha256"}]}`, "users[0]"},
		{"bad pattern", `{"permissions":[{"user":"a","vhost":"/","configure":"(","write":"","read":""}]}`, "configure pattern"},
		{"bad destination type", `{"bindings":[{"source":"x","vhost":"/","destination":"q","destination_type":"topic"}]}`, "destination_type"},
		{"bad policy", `{"policies":[{"vhost":"/","name":"p","pattern":".*","definition":{"ha-mode":"all"}}]}`, "ha-mode"},
		{"no vhost name", `{"vhosts":[{"name":""}]}`, "vhost name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode([]byte(tc.in))
			if err == nil {
				_, err = f.Model()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
