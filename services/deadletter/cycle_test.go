package deadletter

import (
	"testing"

	"github.com/warrenmq/warren/api/amqp"
)

func death(queue, reason string) amqp.Table { return amqp.Table{"queue": queue, "reason": reason} }

func TestIsCycle(t *testing.T) {
	cases := []struct {
		name   string
		target string
		deaths []any
		want   bool
	}{
		{"back into the queue it just expired from", "a", []any{death("a", "expired")}, true},
		{"first hop elsewhere", "b", []any{death("a", "expired")}, false},
		{"expiry ring a→b→a", "a", []any{death("b", "expired"), death("a", "expired")}, true},
		{"ring with a rejection in it continues", "a", []any{death("b", "expired"), death("a", "rejected")}, false},
		{"rejection now: never a cycle", "a", []any{death("a", "rejected")}, false},
		{"maxlen ring", "a", []any{death("b", "maxlen"), death("c", "expired"), death("a", "maxlen")}, true},
		{"no history", "a", nil, false},
	}
	for _, c := range cases {
		if got := isCycle(c.target, c.deaths); got != c.want {
			t.Errorf("%s: isCycle = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDeathsOf(t *testing.T) {
	deaths, reason := deathsOf(amqp.Table{"x-death": []any{death("a", "maxlen"), death("b", "expired")}})
	if len(deaths) != 2 || reason != "maxlen" {
		t.Fatalf("deaths %d reason %q", len(deaths), reason)
	}
	if _, reason := deathsOf(nil); reason != "" {
		t.Fatalf("no headers gave reason %q", reason)
	}
}
