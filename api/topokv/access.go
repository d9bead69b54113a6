package topokv

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/topology"
)

// Access is one instance's access records as the mirror holds them: the
// instance record, its users and their permissions; what a gateway reads
// to log a user in and check what it may do. It also holds the policies as
// stored; the instance's route.Index holds them compiled, to apply them.
// Read it only inside Mirror.ReadAccess.
type Access struct {
	instance *topology.Instance // nil while there is no record
	users    map[string]topology.User
	perms    map[permID]topology.Permission
	policies map[permID]topology.Policy // by vhost and policy name
}

type permID struct{ vhost, user string }

func newAccess() *Access {
	return &Access{users: map[string]topology.User{}, perms: map[permID]topology.Permission{},
		policies: map[permID]topology.Policy{}}
}

// Instance returns the instance record, if there is one.
func (a *Access) Instance() (topology.Instance, bool) {
	if a.instance == nil {
		return topology.Instance{}, false
	}
	return *a.instance, true
}

// User returns a user.
func (a *Access) User(name string) (topology.User, bool) {
	u, ok := a.users[name]
	return u, ok
}

// Users calls fn for every user, in no order.
func (a *Access) Users(fn func(topology.User)) {
	for _, u := range a.users {
		fn(u)
	}
}

// Permission returns a user's permission in a vhost.
func (a *Access) Permission(vhost, user string) (topology.Permission, bool) {
	p, ok := a.perms[permID{vhost, user}]
	return p, ok
}

// Permissions calls fn for every permission, in no order.
func (a *Access) Permissions(fn func(topology.Permission)) {
	for _, p := range a.perms {
		fn(p)
	}
}

// Policy returns a policy of a vhost.
func (a *Access) Policy(vhost, name string) (topology.Policy, bool) {
	p, ok := a.policies[permID{vhost, name}]
	return p, ok
}

// Policies calls fn for every policy, in no order.
func (a *Access) Policies(fn func(topology.Policy)) {
	for _, p := range a.policies {
		fn(p)
	}
}

// policySet compiles the instance's policies; nil when it has none.
func (a *Access) policySet() *topology.PolicySet {
	if len(a.policies) == 0 {
		return nil
	}
	list := make([]topology.Policy, 0, len(a.policies))
	for _, p := range a.policies {
		list = append(list, p)
	}
	return topology.NewPolicySet(list)
}

func (a *Access) empty() bool {
	return a.instance == nil && len(a.users) == 0 && len(a.perms) == 0 && len(a.policies) == 0
}

func isAccessKind(kind string) bool {
	return kind == kindInstance || kind == kindUser || kind == kindPermission || kind == kindPolicy
}

// applyAccessLocked folds an instance, user or permission entry into the
// instance's Access, dropping an Access left empty.
func (m *Mirror) applyAccessLocked(pk parsedKey, e jetstream.KeyValueEntry) error {
	a := m.mu.access[pk.inst]
	if a == nil {
		a = newAccess()
		m.mu.access[pk.inst] = a
	}
	var err error
	if e.Operation() == jetstream.KeyValuePut {
		err = a.put(pk, e.Value())
	} else {
		a.remove(pk)
	}
	if pk.kind == kindPolicy {
		m.indexLocked(pk.inst).SetPolicies(a.policySet())
	}
	if a.empty() {
		delete(m.mu.access, pk.inst)
	}
	return err
}

func (a *Access) put(pk parsedKey, val []byte) error {
	switch pk.kind {
	case kindInstance:
		i, err := DecodeInstance(val)
		if err != nil {
			return err
		}
		i.Name = pk.inst
		a.instance = &i
	case kindUser:
		u, err := DecodeUser(val)
		if err != nil {
			return err
		}
		u.Name = pk.name
		a.users[pk.name] = u
	case kindPermission:
		p, err := DecodePermission(val)
		if err != nil {
			return err
		}
		p.VHost, p.User = pk.vhost, pk.name
		a.perms[permID{pk.vhost, pk.name}] = p
	case kindPolicy:
		p, err := DecodePolicy(val)
		if err != nil {
			return err
		}
		p.VHost, p.Name = pk.vhost, pk.name
		a.policies[permID{pk.vhost, pk.name}] = p
	}
	return nil
}

func (a *Access) remove(pk parsedKey) {
	switch pk.kind {
	case kindInstance:
		a.instance = nil
	case kindUser:
		delete(a.users, pk.name)
	case kindPermission:
		delete(a.perms, permID{pk.vhost, pk.name})
	case kindPolicy:
		delete(a.policies, permID{pk.vhost, pk.name})
	}
}

// ReadAccess runs fn with the instance's access records under the read
// lock. fn must not block or keep a. An unknown instance reads as empty.
func (m *Mirror) ReadAccess(inst string, fn func(a *Access)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a := m.mu.access[inst]
	if a == nil {
		a = emptyAccess
	}
	fn(a)
}

// Instance returns the instance record as the mirror holds it now.
func (m *Mirror) Instance(name string) (i topology.Instance, ok bool) {
	m.ReadAccess(name, func(a *Access) { i, ok = a.Instance() })
	return i, ok
}

var emptyAccess = newAccess()

// Instances calls fn for every instance that has a record, in no order,
// under the read lock.
func (m *Mirror) Instances(fn func(topology.Instance)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, a := range m.mu.access {
		if a.instance != nil {
			fn(*a.instance)
		}
	}
}
