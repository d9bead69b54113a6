package auth

import (
	"regexp"
	"sync"

	"github.com/warrenmq/warren/api/topology"
)

// Op is one of RabbitMQ's three permissions.
type Op uint8

const (
	Configure Op = iota
	Write
	Read
)

func (o Op) String() string {
	switch o {
	case Configure:
		return "configure"
	case Write:
		return "write"
	}
	return "read"
}

// Perms is one user's permissions in one vhost, compiled.
type Perms struct {
	rec topology.Permission
	re  [3]*regexp.Regexp // nil: the expression is "" and grants nothing
}

// Allows reports whether the permission lets op touch the resource name.
// As RabbitMQ (re:run), an expression matches anywhere in the name unless
// anchored; "" grants nothing.
func (p *Perms) Allows(op Op, name string) bool {
	re := p.re[op]
	return re != nil && re.MatchString(name)
}

// compile compiles a permission. The control plane refused expressions
// that do not compile, so one that fails here (a record written by hand)
// grants nothing rather than everything.
func compile(rec topology.Permission) *Perms {
	p := &Perms{rec: rec}
	for i, expr := range []string{rec.Configure, rec.Write, rec.Read} {
		if expr != "" {
			p.re[i], _ = regexp.Compile(expr)
		}
	}
	return p
}

// Permissions hands out compiled permissions, compiling each record once
// per gateway: every connection of a user to a vhost shares them.
type Permissions struct {
	dir PermDirectory
	mu  sync.Mutex
	m   map[permKey]*Perms
}

// PermDirectory is where permissions are read: the topology mirror.
type PermDirectory interface {
	Permission(inst, vhost, user string) (topology.Permission, bool)
	// Generation changes whenever a permission (or any access record)
	// changes; see topokv.Mirror.AccessGeneration.
	Generation() uint64
}

type permKey struct{ inst, vhost, user string }

// NewPermissions returns the compiled permissions of dir's records.
func NewPermissions(dir PermDirectory) *Permissions {
	return &Permissions{dir: dir, m: map[permKey]*Perms{}}
}

// Generation is the directory's access generation; load it before Lookup.
func (ps *Permissions) Generation() uint64 { return ps.dir.Generation() }

// Lookup returns a user's compiled permissions in a vhost, or nil when the
// user has none there. A record changed since it was compiled is
// compiled again: the cached entry is keyed by the record's expressions.
func (ps *Permissions) Lookup(inst, vhost, user string) *Perms {
	rec, ok := ps.dir.Permission(inst, vhost, user)
	if !ok {
		return nil
	}
	k := permKey{inst, vhost, user}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.m[k]; p != nil && p.rec == rec {
		return p
	}
	if len(ps.m) >= DefaultCacheSize {
		clear(ps.m) // stale entries of deleted records; live ones recompile
	}
	p := compile(rec)
	ps.m[k] = p
	return p
}
