package auth

import (
	"net"
	"testing"
)

func TestGuestOnlyFromLoopback(t *testing.T) {
	a := Guest()
	loop4 := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40000}
	loop6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 40000}
	remote := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 40000}
	cases := []struct {
		name       string
		user, pass string
		from       net.Addr
		ok         bool
	}{
		{"guest from 127.0.0.1", "guest", "guest", loop4, true},
		{"guest from ::1", "guest", "guest", loop6, true},
		{"guest from elsewhere", "guest", "guest", remote, false},
		{"wrong password", "guest", "nope", loop4, false},
		{"unknown user", "bob", "guest", loop4, false},
		{"not a TCP address", "guest", "guest", &net.UnixAddr{Name: "/tmp/x"}, false},
	}
	for _, c := range cases {
		ok, why := a.Authenticate(c.user, c.pass, c.from)
		if ok != c.ok {
			t.Errorf("%s: ok=%v (%s), want %v", c.name, ok, why, c.ok)
		}
	}
	if _, why := a.Authenticate("guest", "guest", remote); why != "user 'guest' can only connect via localhost" {
		t.Errorf("refusal text %q", why)
	}
}

func TestNonLoopbackUserFromAnywhere(t *testing.T) {
	a := &Static{Users: map[string]string{"app": "s3cret"}}
	if ok, why := a.Authenticate("app", "s3cret", &net.TCPAddr{IP: net.ParseIP("10.1.2.3")}); !ok {
		t.Fatalf("refused: %s", why)
	}
}
