package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestGatewayTimeoutFlag: every split subcommand takes --gateway-timeout and
// refuses, with exit code 2 and before starting anything, a bound too short
// to derive its timers from.
func TestGatewayTimeoutFlag(t *testing.T) {
	for _, cmd := range []string{"control-plane", "storage-node", "gateway"} {
		for _, bad := range []string{"1s", "0s", "-5s", "ten"} {
			var stderr bytes.Buffer
			code := run([]string{cmd, "--gateway-timeout", bad}, &bytes.Buffer{}, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), "gateway-timeout") {
				t.Errorf("%s --gateway-timeout %s: exit %d, stderr %q; want 2 naming the flag", cmd, bad, code, stderr.String())
			}
		}
		var help bytes.Buffer
		run([]string{cmd, "-h"}, &bytes.Buffer{}, &help)
		if !strings.Contains(help.String(), "-gateway-timeout duration") || !strings.Contains(help.String(), "(default 10s)") {
			t.Errorf("%s -h does not list --gateway-timeout with its 10s default:\n%s", cmd, help.String())
		}
	}
}
