package restapi

import (
	"net/http"
	"testing"
)

// The topology endpoints' HTTP mapping: path variables with %2F and "~",
// query parameters, and definitions as a JSON object body. (Queues need a
// storage node; the e2e suite covers them.)
func TestTopologyOverREST(t *testing.T) {
	srv := newServer(t)
	do(t, srv, call{name: "instance", method: "POST", path: "/v1/instances", token: adminToken, body: body(`{"name":"acme"}`), status: 200})
	for _, c := range []call{
		{name: "exchange", method: "POST", path: "/v1/instances/acme/exchanges",
			body: body(`{"vhost":"/","name":"orders","type":"topic","arguments":{"alternate-exchange":"ae"}}`), status: 200},
		{name: "exchange to exchange", method: "POST", path: "/v1/instances/acme/bindings",
			body: body(`{"vhost":"/","source":"amq.topic","destination":"orders","destination_type":"exchange"}`), status: 200},
		{name: "delete if unused", method: "DELETE", path: "/v1/instances/acme/exchanges/%2F/amq.topic?if_unused=true",
			status: 400, code: "invalid_argument"},
		{name: "reserved name", method: "POST", path: "/v1/instances/acme/exchanges",
			body: body(`{"vhost":"/","name":"amq.x","type":"direct"}`), status: 400, code: "invalid_argument"},
		{name: "policy", method: "PUT", path: "/v1/instances/acme/policies/%2F/ttl",
			body: body(`{"pattern":".*","apply_to":"queues","definition":{"message-ttl":5000}}`), status: 200},
		{name: "definitions with an unknown section", method: "POST", path: "/v1/instances/acme/definitions",
			body: body(`{"shovels":[]}`), status: 400, code: "invalid_argument"},
		{name: "definitions not an object", method: "POST", path: "/v1/instances/acme/definitions",
			body: body(`[1]`), status: 400, code: "invalid_argument"},
		{name: "unbind by properties key", method: "DELETE", path: "/v1/instances/acme/bindings/%2F/amq.topic/exchange/orders/~", status: 200},
		{name: "unbind again", method: "DELETE", path: "/v1/instances/acme/bindings/%2F/amq.topic/exchange/orders/~", status: 404, code: "not_found"},
	} {
		c.token = adminToken
		do(t, srv, c)
	}
	x := do(t, srv, call{name: "get exchange", method: "GET", path: "/v1/instances/acme/exchanges/%2F/orders", token: adminToken, status: 200})
	if args, _ := x["arguments"].(map[string]any); x["durable"] != true || args["alternate-exchange"] != "ae" {
		t.Errorf("exchange %v", x)
	}
	defs := do(t, srv, call{name: "export", method: "GET", path: "/v1/instances/acme/definitions", token: adminToken, status: http.StatusOK})
	if xs, _ := defs["exchanges"].([]any); len(xs) != 1 || defs["rabbit_version"] == nil {
		t.Errorf("export %v", defs)
	}
	if ps, _ := defs["policies"].([]any); len(ps) != 1 || ps[0].(map[string]any)["apply-to"] != "queues" {
		t.Errorf("exported policies %v", defs["policies"])
	}
}
