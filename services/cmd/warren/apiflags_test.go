package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/warrenmq/warren/services/provisioning"
)

func TestAdminTokenFromFlagThenEnvironment(t *testing.T) {
	t.Setenv(provisioning.AdminTokenEnv, "token-from-environment")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "token-from-environment"},
		{[]string{"--admin-token", "token-from-the-flag"}, "token-from-the-flag"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var endpoint string
		token := apiFlags(fs, &endpoint, "amqp://localhost:5672")
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if got := token(); got != c.want || endpoint != "amqp://localhost:5672" {
			t.Errorf("%v: token %q endpoint %q, want %q", c.args, got, endpoint, c.want)
		}
	}
}

// The environment keeps the token out of process listings; -h must not
// print it back as a default.
func TestHelpDoesNotShowTheToken(t *testing.T) {
	t.Setenv(provisioning.AdminTokenEnv, "secret-token-from-environment")
	for _, cmd := range []string{"serve", "control-plane"} {
		var help bytes.Buffer
		run([]string{cmd, "-h"}, io.Discard, &help)
		if !strings.Contains(help.String(), "-admin-token") || strings.Contains(help.String(), "secret-token") {
			t.Errorf("%s -h:\n%s", cmd, help.String())
		}
	}
}
