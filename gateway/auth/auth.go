// Package auth logs AMQP users in and decides what they may do: it
// resolves a login's instance, verifies the password against the
// instance's users (RabbitMQ's salted hashes), and compiles and caches
// their configure/write/read permissions.
package auth

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/warrenmq/warren/api/passhash"
	"github.com/warrenmq/warren/api/topology"
)

// Directory is where logins are checked: the topology mirror in a gateway.
type Directory interface {
	Instance(name string) (topology.Instance, bool)
	User(inst, name string) (topology.User, bool)
}

// Login is who a connection is: a user of an instance.
type Login struct {
	Instance, User string
}

// Users authenticates against the instances' users in a Directory.
type Users struct {
	dir     Directory
	deflt   string
	cache   *credCache
	loopOne Login // the one user allowed only from loopback: the default guest
}

// NewUsers returns an authenticator over dir; names without an instance
// prefix log in to defaultInstance, whose guest, as RabbitMQ's
// loopback_users, may log in only from loopback.
func NewUsers(dir Directory, defaultInstance string) *Users {
	return &Users{
		dir: dir, deflt: defaultInstance, cache: newCredCache(DefaultCacheSize),
		loopOne: Login{Instance: defaultInstance, User: topology.GuestUser},
	}
}

// ErrRefused is the cause of every refused login; the wrapped text, for
// the log only, says why. Clients learn nothing more than RabbitMQ tells
// them.
var ErrRefused = errors.New("login refused")

// Resolve splits a login name into its instance and user: "<instance>:<user>"
// when the prefix names an existing instance, otherwise the whole name is a
// user of the default instance (so a default-instance user may still have
// a ':' in its name).
func (u *Users) Resolve(name string) Login {
	inst, user, ok := strings.Cut(name, ":")
	if ok && topology.CheckInstanceName(inst) == nil {
		if _, exists := u.dir.Instance(inst); exists {
			return Login{Instance: inst, User: user}
		}
	}
	return Login{Instance: u.deflt, User: name}
}

// Authenticate checks a password for a login name. It fails when the
// instance is missing or being deleted, the user is missing or has no
// password, the password is wrong, or the default guest connects from
// elsewhere than loopback.
func (u *Users) Authenticate(name, password string, remote net.Addr) (Login, error) {
	l := u.Resolve(name)
	inst, ok := u.dir.Instance(l.Instance)
	if !ok || inst.Status == topology.Deleting {
		return l, fmt.Errorf("%w: instance '%s' does not exist", ErrRefused, l.Instance)
	}
	rec, ok := u.dir.User(l.Instance, l.User)
	if !ok {
		return l, fmt.Errorf("%w: user '%s' does not exist in instance '%s'", ErrRefused, l.User, l.Instance)
	}
	if !u.verify(l, rec, password) {
		return l, fmt.Errorf("%w: invalid credentials for user '%s'", ErrRefused, l.User)
	}
	if l == u.loopOne && !isLoopback(remote) {
		return l, fmt.Errorf("%w: user '%s' can only connect via localhost", ErrRefused, l.User)
	}
	return l, nil
}

// verify checks the password against the user's hash, through the cache.
func (u *Users) verify(l Login, rec topology.User, password string) bool {
	if rec.PasswordHash == "" {
		return false
	}
	if u.cache.holds(l, rec.PasswordHash, password) {
		return true
	}
	if !passhash.Verify(rec.HashingAlgorithm, rec.PasswordHash, password) {
		return false
	}
	u.cache.put(l, rec.PasswordHash, password)
	return true
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
