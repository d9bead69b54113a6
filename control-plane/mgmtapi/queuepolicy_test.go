package mgmtapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A queue's JSON names the policy that applies to it, the highest
// priority one, with that policy's definition; a queue none applies to has
// null and {}, as RabbitMQ writes them.
func TestQueuePolicyFields(t *testing.T) {
	s := newServer(t)
	g := "guest/guest"
	for _, r := range []req{
		{name: "vhost", method: "PUT", path: "/api/vhosts/prod", user: g, body: `{}`, status: 201},
		{name: "permission", method: "PUT", path: "/api/permissions/prod/guest", user: g, body: `{"configure":".*","write":".*","read":".*"}`, status: 201},
		{name: "queue", method: "PUT", path: "/api/queues/prod/orders.new", user: g, body: `{"durable":true}`, status: 201},
		{name: "other queue", method: "PUT", path: "/api/queues/prod/audit", user: g, body: `{"durable":true}`, status: 201},
		{name: "policy", method: "PUT", path: "/api/policies/prod/ttl", user: g, status: 201,
			body: `{"pattern":"^orders","apply-to":"queues","priority":1,"definition":{"message-ttl":30000,"max-length":500}}`},
		{name: "lower policy", method: "PUT", path: "/api/policies/prod/all", user: g, status: 201,
			body: `{"pattern":"^orders","definition":{"expires":1000}}`},
		{name: "exchanges only", method: "PUT", path: "/api/policies/prod/ae", user: g, status: 201,
			body: `{"pattern":"^audit$","apply-to":"exchanges","priority":9,"definition":{"alternate-exchange":"x"}}`},
	} {
		s.do(t, r)
	}
	get := func(name string) map[string]any {
		_, b := s.do(t, req{name: "get " + name, method: "GET", path: "/api/queues/prod/" + name, user: g, status: 200})
		var q map[string]any
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := get("orders.new")
	if want := map[string]any{"message-ttl": 30000.0, "max-length": 500.0}; q["policy"] != "ttl" ||
		!reflect.DeepEqual(q["effective_policy_definition"], want) {
		t.Errorf("orders.new: policy %v, definition %v; want ttl, %v", q["policy"], q["effective_policy_definition"], want)
	}
	q = get("audit")
	if q["policy"] != nil || !reflect.DeepEqual(q["effective_policy_definition"], map[string]any{}) {
		t.Errorf("audit: policy %v, definition %v; want null, {}", q["policy"], q["effective_policy_definition"])
	}
}
