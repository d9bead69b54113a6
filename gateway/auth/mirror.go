package auth

import (
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// MirrorDirectory reads logins, vhosts and permissions from the gateway's
// topology mirror; it is both a Directory and a PermDirectory.
type MirrorDirectory struct{ M *topokv.Mirror }

// MirrorUsers logs AMQP clients in against the instances' users in the
// mirror, the default instance taking bare user names; tlsDomain, when
// set, names the instance by TLS SNI.
func MirrorUsers(m *topokv.Mirror, tlsDomain string) *Users {
	u := NewUsers(MirrorDirectory{M: m}, topology.DefaultInstance)
	u.SetDomain(tlsDomain)
	return u
}

// Instance returns an instance's record.
func (d MirrorDirectory) Instance(name string) (topology.Instance, bool) {
	return d.M.Instance(name)
}

// User returns a user of an instance.
func (d MirrorDirectory) User(inst, name string) (u topology.User, ok bool) {
	d.M.ReadAccess(inst, func(a *topokv.Access) { u, ok = a.User(name) })
	return u, ok
}

// Permission returns a user's permission in a vhost.
func (d MirrorDirectory) Permission(inst, vhost, user string) (p topology.Permission, ok bool) {
	d.M.ReadAccess(inst, func(a *topokv.Access) { p, ok = a.Permission(vhost, user) })
	return p, ok
}

// VHost reports whether an instance has a vhost.
func (d MirrorDirectory) VHost(inst, vhost string) (ok bool) {
	d.M.Read(inst, func(ix *route.Index) { ok = ix.VHost(vhost) })
	return ok
}

// Generation is the mirror's access generation.
func (d MirrorDirectory) Generation() uint64 { return d.M.AccessGeneration() }
