package e2e

// The warren CLI (`warren instances|vhosts|users|permissions ...`) run as a
// process against the provisioning API of the warren under test.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// cli runs the warren binary's API commands as an operator would, with the
// admin token in $WARREN_API_TOKEN.
type cli struct {
	api    restAPI
	binary string
}

// run runs warren with args and returns its stdout; a non-zero exit fails
// the test unless wantExit says which code to expect.
func (c cli) run(t *testing.T, wantExit int, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.binary, append(args, "--api", c.api.base)...)
	cmd.Env = append(os.Environ(), "WARREN_API_TOKEN="+c.api.token)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("warren %s: %v", strings.Join(args, " "), err)
	}
	if code != wantExit {
		t.Fatalf("warren %s: exit %d, want %d; stderr: %s", strings.Join(args, " "), code, wantExit, stderr.String())
	}
	return string(out)
}

func TestCLIProvisionsAnInstance(t *testing.T) {
	pending(t)
	api := provisioningAPI(t)
	bin, err := buildWarren()
	if err != nil {
		t.Fatal(err)
	}
	c := cli{api: api, binary: bin}
	var b [6]byte
	rand.Read(b[:]) // never fails since Go 1.24
	inst := "e2e-cli-" + hex.EncodeToString(b[:])
	t.Cleanup(func() { api.call(t, api.token, "DELETE", "/v1/instances/"+inst, "") })

	c.run(t, 0, "instances", "create", inst)
	in := []string{"--instance", inst}
	c.run(t, 0, append([]string{"vhosts", "create", "orders", "--description", "the orders"}, in...)...)
	c.run(t, 0, append([]string{"users", "create", "app", "--password", "s3cret", "--tags", "monitoring"}, in...)...)
	c.run(t, 0, append([]string{"permissions", "set", "orders", "app", "--configure", `^app\.`, "--read", ".*"}, in...)...)

	var perms struct {
		Permissions []map[string]string `json:"permissions"`
	}
	js := c.run(t, 0, append([]string{"permissions", "list", "--output", "json"}, in...)...)
	if err := json.Unmarshal([]byte(js), &perms); err != nil {
		t.Fatalf("permissions list --output json is not JSON: %v\n%s", err, js)
	}
	want := map[string]string{"vhost": "orders", "user": "app", "configure": `^app\.`, "write": ".*", "read": ".*"}
	if len(perms.Permissions) != 1 || !maps.Equal(perms.Permissions[0], want) {
		t.Errorf("permissions %v, want only %v", perms.Permissions, want)
	}

	users := c.run(t, 0, append([]string{"users", "list"}, in...)...)
	if lines := strings.Split(users, "\n"); len(lines) < 2 || strings.Join(strings.Fields(lines[1]), " ") != "app monitoring" {
		t.Errorf("users list table:\n%s\nwant a header, then app with its tag", users)
	}
	vhosts := c.run(t, 0, append([]string{"vhosts", "list"}, in...)...)
	if !strings.Contains(vhosts, "orders  the orders") || !strings.HasPrefix(vhosts, "NAME") {
		t.Errorf("vhosts list table:\n%s", vhosts)
	}
	if !strings.Contains(c.run(t, 0, "instances", "list"), inst+"  ACTIVE") {
		t.Errorf("instances list has no active %s", inst)
	}

	c.run(t, 1, append([]string{"vhosts", "create", "orders"}, in...)...) // already exists
	c.run(t, 0, append([]string{"permissions", "delete", "orders", "app"}, in...)...)
	c.run(t, 0, append([]string{"users", "delete", "app"}, in...)...)
	c.run(t, 0, append([]string{"vhosts", "delete", "orders"}, in...)...)
	if got := c.run(t, 0, append([]string{"permissions", "list", "--output", "json"}, in...)...); strings.Contains(got, "orders") {
		t.Errorf("permissions left after delete: %s", got)
	}
	c.run(t, 0, "instances", "delete", inst)
	c.run(t, 1, append([]string{"vhosts", "list"}, in...)...) // not_found
}
