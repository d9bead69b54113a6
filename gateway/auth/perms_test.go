package auth

import (
	"testing"

	"github.com/warrenmq/warren/api/topology"
)

func TestPermsAllows(t *testing.T) {
	p := compile(topology.Permission{Configure: "^app\\.", Write: "orders", Read: ""})
	cases := []struct {
		op   Op
		name string
		want bool
	}{
		{Configure, "app.q", true},
		{Configure, "x.app.q", false}, // anchored
		{Write, "my-orders-x", true},  // unanchored matches anywhere, as re:run
		{Write, "amq.default", false},
		{Read, "anything", false}, // "" grants nothing
		{Read, "", false},
	}
	for _, c := range cases {
		if got := p.Allows(c.op, c.name); got != c.want {
			t.Errorf("%v %q: %v, want %v", c.op, c.name, got, c.want)
		}
	}
	if bad := compile(topology.Permission{Configure: "(", Write: ".*"}); bad.Allows(Configure, "x") || !bad.Allows(Write, "x") {
		t.Error("an expression that does not compile must grant nothing, and only itself")
	}
}

// Lookup compiles a record once, again when it changes, and answers nil
// once it is gone.
func TestPermissionsLookup(t *testing.T) {
	d := newFakeDir()
	k := permKey{"acme", "/", "app"}
	d.perms[k] = topology.FullAccess("/", "app")
	ps := NewPermissions(d)
	first := ps.Lookup("acme", "/", "app")
	if first == nil || first != ps.Lookup("acme", "/", "app") {
		t.Fatal("the same record was compiled twice")
	}
	d.perms[k] = topology.Permission{VHost: "/", User: "app", Read: ".*"}
	changed := ps.Lookup("acme", "/", "app")
	if changed == first || changed.Allows(Write, "x") || !changed.Allows(Read, "x") {
		t.Fatal("a changed record kept its old expressions")
	}
	delete(d.perms, k)
	if ps.Lookup("acme", "/", "app") != nil {
		t.Fatal("a deleted permission still grants")
	}
	if ps.Lookup("other", "/", "app") != nil {
		t.Fatal("a permission crossed instances")
	}
}

func BenchmarkPermsAllows(b *testing.B) {
	p := compile(topology.Permission{Write: "^(orders|billing)\\..*"})
	for b.Loop() {
		p.Allows(Write, "orders.eu")
	}
}
