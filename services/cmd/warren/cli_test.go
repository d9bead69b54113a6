package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAPI answers every request with status and reply, and records the
// last request it got.
type fakeAPI struct {
	status int
	reply  string
	got    struct{ method, uri, auth, body string }
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.got.method, f.got.uri, f.got.auth, f.got.body = r.Method, r.RequestURI, r.Header.Get("Authorization"), string(b)
	w.WriteHeader(f.status)
	io.WriteString(w, f.reply)
}

// runCLI runs warren with args against api and returns exit code, stdout, stderr.
func runCLI(t *testing.T, api *fakeAPI, args ...string) (int, string, string) {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	if len(args) >= 2 { // after the verb, so that a "--" in args stays last
		args = append(args[:2:2], append([]string{"--api", srv.URL}, args[2:]...)...)
	}
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCLIRequests(t *testing.T) {
	t.Setenv("WARREN_API_TOKEN", "env-token")
	tests := []struct {
		args                    []string
		method, uri, auth, body string
	}{
		{[]string{"instances", "create", "acme"}, "POST", "/v1/instances", "Bearer env-token", `{"name":"acme"}`},
		{[]string{"instances", "delete", "acme", "--token", "t1"}, "DELETE", "/v1/instances/acme", "Bearer t1", ""},
		{[]string{"vhosts", "list", "--instance", "acme"}, "GET", "/v1/instances/acme/vhosts", "Bearer env-token", ""},
		{[]string{"vhosts", "delete", "/"}, "DELETE", "/v1/instances/default/vhosts/%2F", "Bearer env-token", ""},
		{[]string{"users", "create", "app", "--password", "pw", "--tags", "a, b"}, "POST", "/v1/instances/default/users", "Bearer env-token",
			`{"name":"app","password":"pw","tags":["a","b"]}`},
		{[]string{"permissions", "set", "/", "app", "--read", "^r$"}, "PUT", "/v1/instances/default/permissions/%2F/app", "Bearer env-token",
			`{"configure":".*","read":"^r$","write":".*"}`},
		{[]string{"queues", "create", "/", "q", "--durable=false"}, "POST", "/v1/instances/default/queues", "Bearer env-token",
			`{"durable":false,"name":"q","vhost":"/"}`},
		{[]string{"exchanges", "delete", "v", "e.x", "--instance", "acme"}, "DELETE", "/v1/instances/acme/exchanges/v/e.x", "Bearer env-token", ""},
		{[]string{"queues", "delete", "--instance", "acme", "/", "--", "-q"}, "DELETE", "/v1/instances/acme/queues/%2F/-q", "Bearer env-token", ""},
		{[]string{"definitions", "export"}, "GET", "/v1/instances/default/definitions", "Bearer env-token", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			api := &fakeAPI{status: 200, reply: "{}"}
			if code, _, stderr := runCLI(t, api, tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := api.got
			if got.method != tt.method || got.uri != tt.uri || got.auth != tt.auth || got.body != tt.body {
				t.Errorf("sent %s %s %q %s, want %s %s %q %s", got.method, got.uri, got.auth, got.body, tt.method, tt.uri, tt.auth, tt.body)
			}
		})
	}
}

func TestCLITokenFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api := &fakeAPI{status: 200, reply: `{"instances":[]}`}
	runCLI(t, api, "instances", "list", "--token-file", file)
	if api.got.auth != "Bearer from-file" {
		t.Errorf("Authorization %q, want the file's token without its newline", api.got.auth)
	}
}

func TestCLIErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		reply  string
		want   string
	}{
		{"api error", 409, `{"code":"already_exists","message":"vhost \"v\" already exists"}`, `already_exists (409): vhost "v" already exists`},
		{"not json", 502, "bad gateway\n", "Bad Gateway (502): bad gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, &fakeAPI{status: tt.status, reply: tt.reply}, "vhosts", "create", "v")
			if code != 1 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"vhosts"}, {"vhosts", "frob"}, {"vhosts", "create"}, {"permissions", "delete", "v"},
		{"vhosts", "list", "--output", "yaml"}, {"definitions", "import"},
	} {
		api := &fakeAPI{status: 200, reply: "{}"}
		if code, _, _ := runCLI(t, api, args...); code != 2 || api.got.method != "" {
			t.Errorf("%q: exit %d, sent %q; want 2 and no request", args, code, api.got.method)
		}
	}
}

const permissionsReply = `{"permissions":[{"vhost":"/","user":"guest","configure":".*","write":".*","read":".*"},` +
	`{"vhost":"orders","user":"app","configure":"","write":"^app\\.","read":".*"}]}`

func TestCLIListOutput(t *testing.T) {
	api := &fakeAPI{status: 200, reply: permissionsReply}
	_, table, _ := runCLI(t, api, "permissions", "list")
	wantTable := "VHOST   USER   CONFIGURE  WRITE   READ\n" +
		"/       guest  .*         .*      .*\n" +
		"orders  app               ^app\\.  .*\n"
	if table != wantTable {
		t.Errorf("table:\n%s\nwant:\n%s", table, wantTable)
	}
	_, js, _ := runCLI(t, api, "permissions", "list", "--output", "json")
	if !strings.HasPrefix(js, "{\n  \"permissions\": [\n    {\n      \"vhost\": \"/\",") || !strings.Contains(js, `"write": "^app\\."`) {
		t.Errorf("json output is not the API's reply, indented in its order:\n%s", js)
	}
}

func TestCell(t *testing.T) {
	row := map[string]any{"tags": []any{"a", "b"}, "n": 3.0, "stats": map[string]any{"messages_ready": "7"}, "args": map[string]any{"y": 1.0, "x": "s"}}
	for col, want := range map[string]string{"tags": "a,b", "n": "3", "stats.messages_ready": "7", "args": "x=s,y=1", "missing": "", "n.deeper": ""} {
		if got := cell(lookup(row, col)); got != want {
			t.Errorf("%s: %q, want %q", col, got, want)
		}
	}
}
