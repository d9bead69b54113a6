package mgmtapi

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/warrenmq/warren/api/passhash"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/apiauth"
)

// RabbitMQ's user tags, from the most to the least powerful
// (rabbit_mgmt_util): administrator does everything; monitoring reads
// everything; policymaker manages policies in its vhosts; management
// reads and declares in its vhosts.
const (
	tagAdministrator = "administrator"
	tagMonitoring    = "monitoring"
	tagPolicymaker   = "policymaker"
	tagManagement    = "management"
)

// caller is an authenticated user of an instance.
type caller struct {
	inst string
	user topology.User
	ctx  context.Context // carries a principal scoped to inst
}

func (c *caller) has(tags ...string) bool {
	for _, t := range tags {
		if slices.Contains(c.user.Tags, t) {
			return true
		}
	}
	return false
}

func (c *caller) admin() bool   { return c.has(tagAdministrator) }
func (c *caller) monitor() bool { return c.has(tagAdministrator, tagMonitoring) }
func (c *caller) management() bool {
	return c.has(tagAdministrator, tagMonitoring, tagPolicymaker, tagManagement)
}

// authenticate checks HTTP basic credentials. Basic auth splits user and
// password at the first colon, so "<instance>:<user>:<password>" arrives
// as user "<instance>" and password "<user>:<password>": a login is
// tried as the default instance's user first, then, when the password
// holds a colon, as the named instance's. Both need the password, so
// the two readings cannot be confused for one another's users. Every
// failure is the same refusal: a caller learns nothing of which
// instances or users exist.
func (a *API) authenticate(r *http.Request) (*caller, error) {
	name, password, ok := r.BasicAuth()
	if !ok {
		return nil, errLogin
	}
	if c, err := a.login(r.Context(), a.opts.DefaultInstance, name, password); err == nil {
		return c, nil
	}
	if user, pw, ok := strings.Cut(password, ":"); ok {
		return a.login(r.Context(), name, user, pw)
	}
	return nil, errLogin
}

// login checks a user's password in one instance.
func (a *API) login(ctx context.Context, inst, user, password string) (*caller, error) {
	var u topology.User
	var found, active bool
	a.mirror.ReadAccess(inst, func(acc *topokv.Access) {
		u, found = acc.User(user)
		i, ok := acc.Instance()
		active = ok && i.Status == topology.Active
	})
	if !found || !active || !passhash.Verify(u.HashingAlgorithm, u.PasswordHash, password) {
		return nil, errLogin
	}
	p := apiauth.Principal{Instance: inst}
	return &caller{inst: inst, user: u, ctx: apiauth.WithPrincipal(ctx, p)}, nil
}

// permission is the caller's permission in vhost, if it has one.
func (a *API) permission(c *caller, vhost string) (topology.Permission, bool) {
	var p topology.Permission
	var ok bool
	a.mirror.ReadAccess(c.inst, func(acc *topokv.Access) { p, ok = acc.Permission(vhost, c.user.Name) })
	return p, ok
}

// canSee reports whether the caller may read a vhost's contents: the
// administrator and monitoring users see every vhost, others the vhosts
// they have permissions in.
func (a *API) canSee(c *caller, vhost string) bool {
	if c.monitor() {
		return true
	}
	_, ok := a.permission(c, vhost)
	return ok
}

// Which of a permission's three expressions an operation needs.
type access int

const (
	configure access = iota
	write
	read
)

// allowed checks an AMQP permission for a change made over HTTP, as
// RabbitMQ does for every user, the administrator included: the name
// must match the caller's expression in that vhost ("" matches nothing).
func (a *API) allowed(c *caller, vhost string, what access, name string) error {
	p, ok := a.permission(c, vhost)
	if !ok {
		return errNoAccess
	}
	expr := [...]string{p.Configure, p.Write, p.Read}[what]
	if expr == "" {
		return errRefused
	}
	re, err := regexp.Compile(expr) // unanchored, as RabbitMQ's re:run
	if err != nil || !re.MatchString(permName(name)) {
		return errRefused
	}
	return nil
}

// permName is the name permissions see: the default exchange is
// "amq.default" (access-control.md).
func permName(name string) string {
	if name == "" {
		return "amq.default"
	}
	return name
}
