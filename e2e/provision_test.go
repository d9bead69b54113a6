package e2e

// The provisioning REST API of the control plane (Warren's own; RabbitMQ's
// management API is another matter): every test here skips against an
// external broker.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// restAPI is the provisioning API of the Warren under test.
type restAPI struct {
	base  string // http://host:port
	token string // the admin token
}

// provisioningAPI returns the API of the shared warren (serve or split),
// with the admin token the control plane generated into its data folder.
func provisioningAPI(t *testing.T) restAPI {
	t.Helper()
	if usingExternalBroker() {
		t.Skip("the provisioning API is Warren's; AMQP_URL names another broker")
	}
	brokerURL(t) // starts the shared deployment
	api := restAPI{}
	tokenFile := ""
	if suite.split != nil {
		api.base, tokenFile = suite.split.apiURL, suite.split.apiToken
	} else {
		api.base = fmt.Sprintf("http://127.0.0.1:%d", suite.shared.httpPort)
		tokenFile = filepath.Join(suite.shared.dataDir, "api-admin-token")
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatalf("the admin token warren generated: %v", err)
	}
	api.token = strings.TrimSpace(string(b))
	api.waitUp(t)
	return api
}

// waitUp waits for the HTTP port, which opens just after the AMQP one.
func (a restAPI) waitUp(t *testing.T) {
	t.Helper()
	waitFor(t, func() bool {
		resp, err := http.Get(a.base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, warrenStartTimeout, "the HTTP port")
}

// reply is an HTTP answer with its JSON body decoded.
type reply struct {
	status int
	body   map[string]any
}

// call sends one request; body is JSON text, or "" for none.
func (a restAPI) call(t *testing.T, token, method, path, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
		t.Fatalf("%s %s: %d with a body that is not JSON: %v", method, path, resp.StatusCode, err)
	}
	return r
}

// must fails the test unless the call got status.
func (r reply) must(t *testing.T, what string, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %v, want %d", what, r.status, r.body, status)
	}
	return r
}

// refused checks a failed call: its status and stable error code.
func (r reply) refused(t *testing.T, what string, status int, code string) {
	t.Helper()
	if r.status != status || r.body["code"] != code || r.body["message"] == "" {
		t.Errorf("%s: %d %v, want %d with code %q and a message", what, r.status, r.body, status, code)
	}
}

// newInstance creates a uniquely named instance, deleted when the test ends.
func (a restAPI) newInstance(t *testing.T, quotas string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "e2e-" + hex.EncodeToString(b[:]) // a DNS label, as instance names are
	a.call(t, a.token, "POST", "/v1/instances", `{"name":"`+name+`","quotas":`+quotas+`}`).must(t, "create instance", 200)
	t.Cleanup(func() { a.call(t, a.token, "DELETE", "/v1/instances/"+name, "") })
	return name
}

func TestProvisionInstanceVHostUserPermission(t *testing.T) {
	pending(t)
	api := provisioningAPI(t)
	inst := api.newInstance(t, `{"max_queues": 50, "max_vhosts": 5}`)
	base := "/v1/instances/" + inst
	got := api.call(t, api.token, "GET", base, "").must(t, "read instance", 200).body
	quotas, _ := got["quotas"].(map[string]any)
	if got["name"] != inst || got["status"] != "ACTIVE" || quotas["max_queues"] != 50.0 || quotas["max_connections"] == 0.0 {
		t.Errorf("instance %v: given quotas kept, the others defaulted", got)
	}

	api.call(t, api.token, "POST", base+"/vhosts", `{"name":"orders","description":"order flow","tags":["prod"]}`).must(t, "create vhost", 200)
	api.call(t, api.token, "POST", base+"/users", `{"name":"app","password":"s3cret","tags":["management"]}`).must(t, "create user", 200)
	api.call(t, api.token, "PUT", base+"/permissions/orders/app",
		`{"configure":"^app\\.","write":".*","read":".*"}`).must(t, "set permission", 200)

	v := api.call(t, api.token, "GET", base+"/vhosts/orders", "").must(t, "read vhost", 200).body
	if v["description"] != "order flow" {
		t.Errorf("vhost %v", v)
	}
	u := api.call(t, api.token, "GET", base+"/users/app", "").must(t, "read user", 200).body
	hash, _ := u["password_hash"].(string)
	if u["hashing_algorithm"] != "rabbit_password_hashing_sha256" || hash == "" || strings.Contains(hash, "s3cret") || u["password"] != nil {
		t.Errorf("user %v: want a salted SHA-256 hash, and never the password", u)
	}
	p := api.call(t, api.token, "GET", base+"/permissions/orders/app", "").must(t, "read permission", 200).body
	if p["configure"] != `^app\.` || p["write"] != ".*" || p["user"] != "app" || p["vhost"] != "orders" {
		t.Errorf("permission %v", p)
	}
	vhosts := api.call(t, api.token, "GET", base+"/vhosts", "").must(t, "list vhosts", 200).body
	if list, _ := vhosts["vhosts"].([]any); len(list) != 2 {
		t.Errorf("vhosts %v: want / and orders", vhosts)
	}
	api.call(t, api.token, "GET", base+"/vhosts/"+url.PathEscape("/"), "").must(t, "the vhost / as %2F", 200)
}

func TestProvisioningTokenScopedToAnInstance(t *testing.T) {
	pending(t)
	api := provisioningAPI(t)
	inst := api.newInstance(t, `{}`)
	other := api.newInstance(t, `{}`)
	created := api.call(t, api.token, "POST", "/v1/instances/"+inst+"/tokens", `{"description":"e2e"}`).must(t, "create token", 200).body
	secret, _ := created["secret"].(string)
	api.call(t, secret, "POST", "/v1/instances/"+inst+"/users", `{"name":"svc","password":"pw"}`).must(t, "its own instance", 200)
	list := api.call(t, secret, "GET", "/v1/instances", "").must(t, "list instances", 200).body
	if l, _ := list["instances"].([]any); len(l) != 1 {
		t.Errorf("a scoped token lists %v, want only its instance", list)
	}
	api.call(t, secret, "GET", "/v1/instances/"+other, "").refused(t, "another instance", 403, "permission_denied")
	api.call(t, secret, "GET", "/v1/instances/default/users", "").refused(t, "the default instance", 403, "permission_denied")
	api.call(t, secret, "POST", "/v1/instances", `{"name":"mine"}`).refused(t, "create an instance", 403, "permission_denied")
	api.call(t, secret, "DELETE", "/v1/instances/"+inst, "").refused(t, "delete its instance", 403, "permission_denied")

	api.call(t, api.token, "DELETE", "/v1/instances/"+inst, "").must(t, "delete the instance", 200)
	api.call(t, api.token, "GET", "/v1/instances/"+inst, "").refused(t, "deleted instance", 404, "not_found")
	api.call(t, secret, "GET", "/v1/instances", "").refused(t, "token of a deleted instance", 401, "unauthenticated")
}

func TestProvisioningBadInput(t *testing.T) {
	pending(t)
	api := provisioningAPI(t)
	inst := api.newInstance(t, `{"max_vhosts": 2}`)
	base := "/v1/instances/" + inst
	huge := `{"name":"big","description":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, c := range []struct {
		what, token, method, path, body string
		status                          int
		code                            string
	}{
		{"no token", "", "GET", "/v1/instances", "", 401, "unauthenticated"},
		{"wrong token", "not-the-admin-token", "GET", "/v1/instances", "", 401, "unauthenticated"},
		{"no token for the OpenAPI document", "", "GET", "/openapi.json", "", 401, "unauthenticated"},
		{"malformed JSON", api.token, "POST", base + "/vhosts", `{"name": "half`, 400, "invalid_argument"},
		{"unknown field", api.token, "POST", base + "/users", `{"name":"u1","pasword":"typo"}`, 400, "invalid_argument"},
		{"wrong type", api.token, "PATCH", base, `{"quotas":{"max_queues":"lots"}}`, 400, "invalid_argument"},
		{"invalid instance name", api.token, "POST", "/v1/instances", `{"name":"Bad_Name"}`, 400, "invalid_argument"},
		{"empty vhost name", api.token, "POST", base + "/vhosts", `{"name":""}`, 400, "invalid_argument"},
		{"256-byte vhost name", api.token, "POST", base + "/vhosts", `{"name":"` + strings.Repeat("v", 256) + `"}`, 400, "invalid_argument"},
		{"256-byte user name", api.token, "POST", base + "/users", `{"name":"` + strings.Repeat("u", 256) + `"}`, 400, "invalid_argument"},
		{"bad tag", api.token, "POST", base + "/users", `{"name":"u2","tags":["a,b"]}`, 400, "invalid_argument"},
		{"bad regex", api.token, "PUT", base + "/permissions/%2F/guest", `{"configure":"(","write":"","read":""}`, 400, "invalid_argument"},
		{"missing read", api.token, "PUT", base + "/permissions/%2F/guest", `{"configure":"","write":""}`, 400, "invalid_argument"},
		{"oversized body", api.token, "POST", base + "/vhosts", huge, 413, "payload_too_large"},
		{"duplicate instance", api.token, "POST", "/v1/instances", `{"name":"` + inst + `"}`, 409, "already_exists"},
		{"permission for a missing user", api.token, "PUT", base + "/permissions/%2F/nobody", `{"configure":"","write":"","read":""}`, 404, "not_found"},
		{"missing instance", api.token, "GET", "/v1/instances/no-such-instance", "", 404, "not_found"},
		{"unknown endpoint", api.token, "GET", "/v1/instances/" + inst + "/nothing", "", 404, "not_found"},
		{"wrong method", api.token, "DELETE", "/v1/instances", "", 405, "method_not_allowed"},
		{"delete the default instance", api.token, "DELETE", "/v1/instances/default", "", 409, "failed_precondition"},
	} {
		api.call(t, c.token, c.method, c.path, c.body).refused(t, c.what, c.status, c.code)
	}
	api.call(t, api.token, "POST", base+"/vhosts", `{"name":"second"}`).must(t, "the second vhost", 200)
	api.call(t, api.token, "POST", base+"/vhosts", `{"name":"third"}`).refused(t, "past the vhost quota", 409, "quota_exceeded")

	// Nothing refused was half-created.
	users := api.call(t, api.token, "GET", base+"/users", "").must(t, "list users", 200).body
	if l, _ := users["users"].([]any); len(l) != 0 {
		t.Errorf("refused creates left users: %v", users)
	}
	vhosts := api.call(t, api.token, "GET", base+"/vhosts", "").must(t, "list vhosts", 200).body
	if l, _ := vhosts["vhosts"].([]any); len(l) != 2 {
		t.Errorf("vhosts %v: want / and second only", vhosts)
	}
	perms := api.call(t, api.token, "GET", base+"/permissions", "").must(t, "list permissions", 200).body
	if l, _ := perms["permissions"].([]any); len(l) != 0 {
		t.Errorf("refused sets left permissions: %v", perms)
	}
	instances := api.call(t, api.token, "GET", "/v1/instances", "").must(t, "list instances", 200).body
	if strings.Contains(fmt.Sprint(instances), "Bad_Name") {
		t.Errorf("an invalid instance was created: %v", instances)
	}
}

// The guest user of the default instance is seeded as on RabbitMQ, and the
// deployment keeps serving AMQP with it next to the API.
func TestDefaultInstanceOverREST(t *testing.T) {
	pending(t)
	api := provisioningAPI(t)
	p := api.call(t, api.token, "GET", "/v1/instances/default/permissions/%2F/guest", "").must(t, "guest's permission", 200).body
	if p["configure"] != ".*" || p["write"] != ".*" || p["read"] != ".*" {
		t.Errorf("guest's permission on /: %v", p)
	}
	u := api.call(t, api.token, "GET", "/v1/instances/default/users/guest", "").must(t, "guest", 200).body
	if tags, _ := u["tags"].([]any); len(tags) != 1 || tags[0] != "administrator" {
		t.Errorf("guest: %v", u)
	}
	ch := channel(t)
	if _, err := ch.QueueDeclare("", false, true, true, false, nil); err != nil {
		t.Fatalf("AMQP as guest next to the API: %v", err)
	}
}

// An admin token given on the command line is the one the API takes, and
// none is generated.
func TestAdminTokenFlag(t *testing.T) {
	pending(t)
	if usingExternalBroker() {
		t.Skip("the provisioning API is Warren's; AMQP_URL names another broker")
	}
	dir := t.TempDir()
	const token = "e2e-admin-token-from-the-flag"
	w := startWarren(t, dir, "--admin-token", token)
	api := restAPI{base: fmt.Sprintf("http://127.0.0.1:%d", w.httpPort), token: token}
	api.waitUp(t)
	api.call(t, token, "GET", "/v1/instances", "").must(t, "the flag's token", 200)
	api.call(t, "wrong-"+token, "GET", "/v1/instances", "").refused(t, "another token", 401, "unauthenticated")
	if _, err := os.Stat(filepath.Join(dir, "api-admin-token")); err == nil {
		t.Error("a token was generated although one was given")
	}
}
