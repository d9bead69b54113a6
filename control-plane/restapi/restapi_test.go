package restapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/control-plane/apiauth"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
	"github.com/warrenmq/warren/control-plane/provision"
	"github.com/warrenmq/warren/control-plane/topo"
)

const adminToken = "restapi-test-admin-token"

// testBodyLimit keeps the oversized-body cases small.
const testBodyLimit = 4096

// newServer serves the API over a real provisioning service on a real
// embedded JetStream server.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	_, js := natstest.JetStream(t)
	kv, m := natstest.Topology(ctx, t, js)
	tokens, err := apiauth.Open(ctx, js, adminToken)
	if err != nil {
		t.Fatal(err)
	}
	svc := provision.New(kv, m, topo.New(kv, m, nil, slog.Default()), tokens, provision.Options{}, slog.Default())
	h, err := Handler(svc, tokens, Options{MaxBodyBytes: testBodyLimit, Log: slog.Default()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range Paths {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// call is one HTTP request and what it must get.
type call struct {
	name, method, path, token string
	body                      io.Reader // nil: no body
	status                    int
	code                      string // the error code, for failures
}

// do runs c and returns the decoded JSON body.
func do(t *testing.T, srv *httptest.Server, c call) map[string]any {
	t.Helper()
	req, err := http.NewRequest(c.method, srv.URL+c.path, c.body)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("%s: body is not JSON: %v", c.name, err)
	}
	if resp.StatusCode != c.status {
		t.Errorf("%s: %s %s: status %d %v, want %d", c.name, c.method, c.path, resp.StatusCode, got, c.status)
	}
	if c.code != "" && (got["code"] != c.code || got["message"] == "" || len(got) != 2) {
		t.Errorf("%s: error body %v, want code %q and a message", c.name, got, c.code)
	}
	return got
}

func body(s string) io.Reader { return strings.NewReader(s) }

func TestRequestsWithoutAValidToken(t *testing.T) {
	srv := newServer(t)
	for _, c := range []call{
		{name: "no token", method: "GET", path: "/v1/instances"},
		{name: "wrong token", method: "GET", path: "/v1/instances", token: "not-the-token"},
		{name: "a forged scoped token", method: "GET", path: "/v1/instances", token: "warren.acme.0123456789abcdef.x"},
		{name: "an unknown path", method: "GET", path: "/v1/nothing"},
		{name: "the OpenAPI document", method: "GET", path: "/openapi.json"},
		{name: "a create", method: "POST", path: "/v1/instances", body: body(`{"name":"x"}`)},
	} {
		c.status, c.code = http.StatusUnauthorized, "unauthenticated"
		do(t, srv, c)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/instances", nil)
	req.Header.Set("Authorization", "Basic "+adminToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("basic scheme: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestProvisionOverREST(t *testing.T) {
	srv := newServer(t)
	inst := do(t, srv, call{name: "create instance", method: "POST", path: "/v1/instances", token: adminToken,
		body: body(`{"name": "acme", "quotas": {"max_queues": 5, "max_stored_bytes": 1099511627776}}`), status: 200})
	quotas, _ := inst["quotas"].(map[string]any)
	if inst["name"] != "acme" || inst["status"] != "ACTIVE" || quotas["max_queues"] != 5.0 || quotas["max_stored_bytes"] != "1099511627776" {
		t.Fatalf("instance %v", inst)
	}
	steps := []call{
		{name: "vhost", method: "POST", path: "/v1/instances/acme/vhosts", body: body(`{"name":"orders","tags":["prod"]}`), status: 200},
		{name: "vhost / as %2F", method: "GET", path: "/v1/instances/acme/vhosts/%2F", status: 200},
		{name: "user", method: "POST", path: "/v1/instances/acme/users", body: body(`{"name":"app","password":"s3cret"}`), status: 200},
		{name: "permission", method: "PUT", path: "/v1/instances/acme/permissions/orders/app",
			body: body(`{"configure":"^app\\.","write":".*","read":".*"}`), status: 200},
		{name: "tags only", method: "PATCH", path: "/v1/instances/acme/users/app", body: body(`{"tags":["monitoring"]}`), status: 200},
		{name: "quota", method: "PATCH", path: "/v1/instances/acme", body: body(`{"quotas":{"max_vhosts":20}}`), status: 200},
	}
	for _, c := range steps {
		c.token = adminToken
		do(t, srv, c)
	}
	u := do(t, srv, call{name: "read user", method: "GET", path: "/v1/instances/acme/users/app", token: adminToken, status: 200})
	if tags, _ := u["tags"].([]any); len(tags) != 1 || u["password_hash"] == "" || u["password"] != nil {
		t.Errorf("user %v: the tags update, a hash and no password expected", u)
	}
	p := do(t, srv, call{name: "read permission", method: "GET", path: "/v1/instances/acme/permissions/orders/app", token: adminToken, status: 200})
	if p["configure"] != `^app\.` || p["vhost"] != "orders" {
		t.Errorf("permission %v", p)
	}
	for name, escaped := range map[string]string{"/": "%2F", "a/b": "a%2Fb", "50%": "50%25", "a b": "a%20b"} {
		if name != "/" {
			do(t, srv, call{name: "create " + name, method: "POST", path: "/v1/instances/acme/vhosts", token: adminToken,
				body: body(`{"name":"` + name + `"}`), status: 200})
		}
		v := do(t, srv, call{name: "read " + name, method: "GET", path: "/v1/instances/acme/vhosts/" + escaped, token: adminToken, status: 200})
		if v["name"] != name {
			t.Errorf("vhost %s read as %v, want %q", escaped, v, name)
		}
	}
}

func TestBadInput(t *testing.T) {
	srv := newServer(t)
	do(t, srv, call{name: "instance", method: "POST", path: "/v1/instances", token: adminToken,
		body: body(`{"name":"acme","quotas":{"max_vhosts":1}}`), status: 200})
	big := `{"name":"x","description":"` + strings.Repeat("a", testBodyLimit) + `"}`
	for _, c := range []call{
		{name: "malformed JSON", method: "POST", path: "/v1/instances", body: body(`{"name":`), status: 400, code: "invalid_argument"},
		{name: "trailing bytes", method: "POST", path: "/v1/instances", body: body(`{"name":"t1"} {}`), status: 400, code: "invalid_argument"},
		{name: "not an object", method: "POST", path: "/v1/instances", body: body(`["t2"]`), status: 400, code: "invalid_argument"},
		{name: "unknown field", method: "POST", path: "/v1/instances", body: body(`{"name":"t3","color":"red"}`), status: 400, code: "invalid_argument"},
		{name: "output field on input", method: "POST", path: "/v1/instances", body: body(`{"name":"t4","status":"ACTIVE"}`), status: 400, code: "invalid_argument"},
		{name: "wrong type", method: "POST", path: "/v1/instances", body: body(`{"name":"t5","quotas":{"max_queues":"many"}}`), status: 400, code: "invalid_argument"},
		{name: "invalid instance name", method: "POST", path: "/v1/instances", body: body(`{"name":"Not_A_Label"}`), status: 400, code: "invalid_argument"},
		{name: "empty body", method: "POST", path: "/v1/instances", status: 400, code: "invalid_argument"},
		{name: "too long vhost name", method: "POST", path: "/v1/instances/acme/vhosts",
			body: body(`{"name":"` + strings.Repeat("v", 256) + `"}`), status: 400, code: "invalid_argument"},
		{name: "oversized body", method: "POST", path: "/v1/instances/acme/vhosts", body: body(big), status: 413, code: "payload_too_large"},
		{name: "oversized chunked body", method: "POST", path: "/v1/instances/acme/vhosts",
			body: io.MultiReader(body(big)), status: 413, code: "payload_too_large"},
		{name: "permission without read", method: "PUT", path: "/v1/instances/acme/permissions/%2F/guest",
			body: body(`{"configure":".*","write":".*"}`), status: 400, code: "invalid_argument"},
		{name: "duplicate", method: "POST", path: "/v1/instances", body: body(`{"name":"acme"}`), status: 409, code: "already_exists"},
		{name: "past the vhost quota", method: "POST", path: "/v1/instances/acme/vhosts", body: body(`{"name":"v2"}`), status: 409, code: "quota_exceeded"},
		{name: "missing instance", method: "GET", path: "/v1/instances/nope", status: 404, code: "not_found"},
		{name: "unknown path", method: "GET", path: "/v1/instances/acme/nothing", status: 404, code: "not_found"},
		{name: "wrong method", method: "PUT", path: "/v1/instances", body: body(`{}`), status: 405, code: "method_not_allowed"},
	} {
		c.token = adminToken
		do(t, srv, c)
	}
	list := do(t, srv, call{name: "list", method: "GET", path: "/v1/instances", token: adminToken, status: 200})
	if got, _ := list["instances"].([]any); len(got) != 1 {
		t.Errorf("refused requests created instances: %v", list)
	}
	vhosts := do(t, srv, call{name: "vhosts", method: "GET", path: "/v1/instances/acme/vhosts", token: adminToken, status: 200})
	if got, _ := vhosts["vhosts"].([]any); len(got) != 1 {
		t.Errorf("refused requests created vhosts: %v", vhosts)
	}
}

func TestScopedTokenOverREST(t *testing.T) {
	srv := newServer(t)
	for _, name := range []string{"acme", "other"} {
		do(t, srv, call{name: name, method: "POST", path: "/v1/instances", token: adminToken, body: body(`{"name":"` + name + `"}`), status: 200})
	}
	tok := do(t, srv, call{name: "token", method: "POST", path: "/v1/instances/acme/tokens", token: adminToken,
		body: body(`{"description":"ci"}`), status: 200})
	secret, _ := tok["secret"].(string)
	for _, c := range []call{
		{name: "own instance", method: "GET", path: "/v1/instances/acme", status: 200},
		{name: "own users", method: "POST", path: "/v1/instances/acme/users", body: body(`{"name":"u"}`), status: 200},
		{name: "other instance", method: "GET", path: "/v1/instances/other", status: 403, code: "permission_denied"},
		{name: "other's vhosts", method: "GET", path: "/v1/instances/other/vhosts", status: 403, code: "permission_denied"},
		{name: "create instance", method: "POST", path: "/v1/instances", body: body(`{"name":"mine"}`), status: 403, code: "permission_denied"},
		{name: "mint tokens", method: "POST", path: "/v1/instances/acme/tokens", body: body(`{}`), status: 403, code: "permission_denied"},
	} {
		c.token = secret
		do(t, srv, c)
	}
	id, _ := tok["token"].(map[string]any)["id"].(string)
	do(t, srv, call{name: "revoke", method: "DELETE", path: "/v1/instances/acme/tokens/" + id, token: adminToken, status: 200})
	do(t, srv, call{name: "revoked", method: "GET", path: "/v1/instances/acme", token: secret, status: 401, code: "unauthenticated"})
}

func TestOpenAPIDocument(t *testing.T) {
	srv := newServer(t)
	doc := do(t, srv, call{name: "openapi", method: "GET", path: "/openapi.json", token: adminToken, status: 200})
	paths, _ := doc["paths"].(map[string]any)
	if doc["swagger"] != "2.0" || paths["/v1/instances/{instance}/permissions/{vhost}/{user}"] == nil {
		t.Fatalf("not the provisioning API's document: %v", doc["info"])
	}
	do(t, srv, call{name: "post openapi", method: "POST", path: "/openapi.json", token: adminToken, status: 405, code: "method_not_allowed"})
}
