package auth

import (
	"errors"
	"net"
	"testing"

	"github.com/warrenmq/warren/api/passhash"
	"github.com/warrenmq/warren/api/topology"
)

// fakeDir is a Directory held in maps, changed by the tests.
type fakeDir struct {
	instances map[string]topology.Instance
	users     map[Login]topology.User
	perms     map[permKey]topology.Permission
	gen       uint64
}

func newFakeDir() *fakeDir {
	return &fakeDir{
		instances: map[string]topology.Instance{
			"default": {Name: "default", Status: topology.Active},
			"acme":    {Name: "acme", Status: topology.Active},
			"gone":    {Name: "gone", Status: topology.Deleting},
		},
		users: map[Login]topology.User{}, perms: map[permKey]topology.Permission{},
	}
}

func (d *fakeDir) Instance(name string) (topology.Instance, bool) {
	i, ok := d.instances[name]
	return i, ok
}

func (d *fakeDir) User(inst, name string) (topology.User, bool) {
	u, ok := d.users[Login{inst, name}]
	return u, ok
}

func (d *fakeDir) Permission(inst, vhost, user string) (topology.Permission, bool) {
	p, ok := d.perms[permKey{inst, vhost, user}]
	return p, ok
}

func (d *fakeDir) Generation() uint64 { return d.gen }

func (d *fakeDir) setPassword(inst, user, password string) {
	d.users[Login{inst, user}] = topology.User{Name: user, PasswordHash: passhash.Hash(password), HashingAlgorithm: passhash.SHA256}
}

var (
	loopback = &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40000}
	loop6    = &net.TCPAddr{IP: net.ParseIP("::1"), Port: 40000}
	remote   = &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 40000}
)

func TestResolve(t *testing.T) {
	u := NewUsers(newFakeDir(), "default")
	u.SetDomain("mq.example.com")
	cases := []struct {
		name, sni string
		want      Login
	}{
		{"acme:app", "", Login{"acme", "app"}},
		{"acme:a:b", "", Login{"acme", "a:b"}},
		{"nope:app", "", Login{"default", "nope:app"}}, // no such instance: a default user's name
		{"Acme:app", "", Login{"default", "Acme:app"}}, // not an instance name
		{"guest", "", Login{"default", "guest"}},
		{":x", "", Login{"default", ":x"}},
		{"app", "acme.mq.example.com", Login{"acme", "app"}},
		{"app", "ACME.MQ.example.com", Login{"acme", "app"}},            // host names are case-insensitive
		{"default:app", "acme.mq.example.com", Login{"default", "app"}}, // the prefix wins
		{"app", "nope.mq.example.com", Login{"default", "app"}},
		{"app", "acme.other.com", Login{"default", "app"}},
		{"app", "x.acme.mq.example.com", Login{"default", "app"}},
		{"app", "mq.example.com", Login{"default", "app"}},
	}
	for _, c := range cases {
		if got := u.Resolve(c.name, c.sni); got != c.want {
			t.Errorf("Resolve(%q, %q) = %+v, want %+v", c.name, c.sni, got, c.want)
		}
	}
	if got := NewUsers(newFakeDir(), "default").Resolve("app", "acme.mq.example.com"); got.Instance != "default" {
		t.Errorf("without a domain, SNI chose %+v", got)
	}
}

func TestAuthenticate(t *testing.T) {
	d := newFakeDir()
	d.setPassword("default", "guest", "guest")
	d.setPassword("acme", "app", "s3cret")
	d.setPassword("acme", "guest", "guest")
	d.setPassword("gone", "app", "s3cret")
	d.users[Login{"acme", "nopass"}] = topology.User{Name: "nopass", HashingAlgorithm: passhash.SHA256}
	u := NewUsers(d, "default")
	cases := []struct {
		what, name, pass string
		from             net.Addr
		want             Login // zero: refused
	}{
		{"guest from 127.0.0.1", "guest", "guest", loopback, Login{"default", "guest"}},
		{"guest from ::1", "guest", "guest", loop6, Login{"default", "guest"}},
		{"guest from elsewhere", "guest", "guest", remote, Login{}},
		{"guest as a unix socket", "guest", "guest", &net.UnixAddr{Name: "/tmp/x"}, Login{}},
		{"wrong password", "guest", "nope", loopback, Login{}},
		{"instance user from anywhere", "acme:app", "s3cret", remote, Login{"acme", "app"}},
		{"an instance's own guest is not loopback-only", "acme:guest", "guest", remote, Login{"acme", "guest"}},
		{"another instance's password", "acme:app", "guest", loopback, Login{}},
		{"user of another instance", "app", "s3cret", loopback, Login{}},
		{"instance being deleted", "gone:app", "s3cret", loopback, Login{}},
		{"user without a password", "acme:nopass", "", loopback, Login{}},
	}
	for _, c := range cases {
		got, err := u.Authenticate(Attempt{Name: c.name, Password: c.pass, Remote: c.from})
		if c.want == (Login{}) {
			if !errors.Is(err, ErrRefused) {
				t.Errorf("%s: err %v, want a refusal", c.what, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.what, got, err, c.want)
		}
	}
}

// A verified login is cached, but a changed password or a deleted user
// takes effect on the very next login.
func TestCachedLoginFollowsChanges(t *testing.T) {
	d := newFakeDir()
	d.setPassword("acme", "app", "one")
	u := NewUsers(d, "default")
	login := func(pass string) error {
		_, err := u.Authenticate(Attempt{Name: "acme:app", Password: pass, Remote: remote})
		return err
	}
	for range 2 { // the second one is served from the cache
		if err := login("one"); err != nil {
			t.Fatal(err)
		}
	}
	if err := login("two"); err == nil {
		t.Fatal("a wrong password passed on a cached login")
	}
	d.setPassword("acme", "app", "two")
	if err := login("one"); err == nil {
		t.Fatal("the old password still logs in after a change")
	}
	if err := login("two"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	delete(d.users, Login{"acme", "app"})
	if err := login("two"); err == nil {
		t.Fatal("a deleted user still logs in")
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := newCredCache(2)
	for _, name := range []string{"a", "b", "c"} {
		c.put(Login{"i", name}, "h", "p")
	}
	if len(c.m) != 2 {
		t.Fatalf("%d entries, bound 2", len(c.m))
	}
	if !c.holds(Login{"i", "c"}, "h", "p") {
		t.Fatal("the newest entry was evicted")
	}
}

// BenchmarkLogin compares a login served from the credential cache with
// one that verifies the salted hash; both include the directory lookups.
func BenchmarkLogin(b *testing.B) {
	d := newFakeDir()
	d.setPassword("acme", "app", "s3cret")
	for _, bc := range []struct {
		name   string
		cached bool
	}{{"cached", true}, {"uncached", false}} {
		b.Run(bc.name, func(b *testing.B) {
			u := NewUsers(d, "default")
			b.ReportAllocs()
			for b.Loop() {
				if !bc.cached {
					clear(u.cache.m)
				}
				if _, err := u.Authenticate(Attempt{Name: "acme:app", Password: "s3cret", Remote: remote}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
