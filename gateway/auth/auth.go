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

// Attempt is a login as a client makes it.
type Attempt struct {
	Name, Password string
	Remote         net.Addr
	// ServerName is the TLS SNI host the client asked for, "" without TLS.
	ServerName string
}

// Users authenticates against the instances' users in a Directory.
type Users struct {
	dir     Directory
	deflt   string
	domain  string // SNI hosts "<instance>.<domain>" name their instance; "" ignores SNI
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

// SetDomain makes TLS connections to "<instance>.<domain>" log in to that
// instance by default.
func (u *Users) SetDomain(domain string) { u.domain = strings.ToLower(domain) }

// Resolve finds a login's instance and user: "<instance>:<user>" when the
// prefix names an existing instance; otherwise the whole name is a user of
// the instance the TLS SNI host names ("<instance>.<domain>"), else of the
// default instance (so a user name may still hold a ':').
func (u *Users) Resolve(name, serverName string) Login {
	if inst, user, ok := strings.Cut(name, ":"); ok && u.exists(inst) {
		return Login{Instance: inst, User: user}
	}
	if inst, ok := u.sniInstance(serverName); ok {
		return Login{Instance: inst, User: name}
	}
	return Login{Instance: u.deflt, User: name}
}

// sniInstance is the instance an SNI host "<instance>.<domain>" names.
func (u *Users) sniInstance(host string) (string, bool) {
	if u.domain == "" {
		return "", false
	}
	label, rest, ok := strings.Cut(strings.ToLower(host), ".")
	if !ok || rest != u.domain || !u.exists(label) {
		return "", false
	}
	return label, true
}

// exists reports whether name is an instance name with a record.
func (u *Users) exists(name string) bool {
	if topology.CheckInstanceName(name) != nil {
		return false
	}
	_, ok := u.dir.Instance(name)
	return ok
}

// Authenticate checks a login attempt. It fails when the instance is
// missing or being deleted, the user is missing or has no password, the
// password is wrong, or the default guest connects from elsewhere than
// loopback.
func (u *Users) Authenticate(at Attempt) (Login, error) {
	l, password := u.Resolve(at.Name, at.ServerName), at.Password
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
	if l == u.loopOne && !isLoopback(at.Remote) {
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
