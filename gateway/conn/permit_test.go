package conn

import (
	"testing"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/auth"
)

// permDir is a PermDirectory in a map; gen moves when a test changes it.
type permDir struct {
	perms map[[3]string]topology.Permission
	gen   uint64
}

func (d *permDir) Permission(inst, vhost, user string) (topology.Permission, bool) {
	p, ok := d.perms[[3]string{inst, vhost, user}]
	return p, ok
}

func (d *permDir) Generation() uint64 { return d.gen }

func permConn(d *permDir) *Conn {
	return &Conn{cfg: &Config{Perms: auth.NewPermissions(d)}, inst: "acme", vhost: "/", user: "app"}
}

func TestPermitUsesRabbitMQsRefusal(t *testing.T) {
	d := &permDir{perms: map[[3]string]topology.Permission{
		{"acme", "/", "app"}: {Configure: "^app\\.", Write: "^amq\\.default$", Read: ".*"},
	}}
	c := permConn(d)
	cases := []struct {
		op         auth.Op
		kind, name string
		text       string // "" allowed
	}{
		{auth.Configure, "queue", "app.q", ""},
		{auth.Configure, "queue", "q", "ACCESS_REFUSED - configure access to queue 'q' in vhost '/' refused for user 'app'"},
		{auth.Write, "exchange", "", ""}, // the default exchange is checked as amq.default
		{auth.Write, "exchange", "amq.topic", "ACCESS_REFUSED - write access to exchange 'amq.topic' in vhost '/' refused for user 'app'"},
		{auth.Read, "queue", "anything", ""},
	}
	for _, tc := range cases {
		err := c.permit(tc.op, tc.kind, tc.name)
		if tc.text == "" {
			if err != nil {
				t.Errorf("%v %s %q refused: %v", tc.op, tc.kind, tc.name, err)
			}
			continue
		}
		re, ok := err.(*reply.Error)
		if !ok || re.Code != reply.AccessRefused || re.ReplyText() != tc.text {
			t.Errorf("%v %s %q: %v, want 403 %q", tc.op, tc.kind, tc.name, err, tc.text)
		}
	}
}

// Remembered decisions last only while the access generation does: a
// changed or revoked permission applies to the next operation.
func TestPermitFollowsChanges(t *testing.T) {
	k := [3]string{"acme", "/", "app"}
	d := &permDir{perms: map[[3]string]topology.Permission{k: topology.FullAccess("/", "app")}}
	c := permConn(d)
	if err := c.permit(auth.Write, "exchange", "x"); err != nil {
		t.Fatal(err)
	}
	d.perms[k] = topology.Permission{Read: ".*"}
	if err := c.permit(auth.Write, "exchange", "x"); err != nil {
		t.Fatal("a remembered decision was dropped although the generation did not move")
	}
	d.gen++
	if err := c.permit(auth.Write, "exchange", "x"); err == nil {
		t.Fatal("a narrowed permission still allows write")
	}
	delete(d.perms, k)
	d.gen++
	if err := c.permit(auth.Read, "queue", "q"); err == nil {
		t.Fatal("a revoked permission still allows read")
	}
}

// BenchmarkPermitPublish is the permission check a publish pays once the
// connection has published to the exchange before.
func BenchmarkPermitPublish(b *testing.B) {
	d := &permDir{perms: map[[3]string]topology.Permission{{"acme", "/", "app"}: {Write: "^(orders|billing)\\."}}}
	c := permConn(d)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.permit(auth.Write, "exchange", "orders.eu"); err != nil {
			b.Fatal(err)
		}
	}
}
