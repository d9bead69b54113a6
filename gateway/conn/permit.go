package conn

import (
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/gateway/auth"
)

// maxGrantMemo bounds a connection's remembered permission decisions; a
// client touching more names than this just evaluates expressions again.
const maxGrantMemo = 1024

// permGrants is a connection's permission decisions in its vhost, remembered
// while the mirror's access generation stays the same: on the publish
// path a check is one atomic load and one map lookup, and a changed or
// revoked permission applies from the next operation on.
//
// Concurrency: used only under Conn.dispatchMu.
type permGrants struct {
	gen    uint64
	loaded bool
	perms  *auth.Perms // nil: no permission in this vhost
	memo   map[grantKey]bool
}

type grantKey struct {
	op   auth.Op
	name string
}

// allows reports whether the connection's user may do op on name.
func (c *Conn) allows(op auth.Op, name string) bool {
	g := &c.grants
	if gen := c.cfg.Perms.Generation(); !g.loaded || gen != g.gen {
		g.gen, g.loaded = gen, true
		if p := c.cfg.Perms.Lookup(c.inst, c.vhost, c.user); p != g.perms || g.memo == nil {
			g.perms, g.memo = p, make(map[grantKey]bool)
		}
	}
	k := grantKey{op, name}
	if ok, known := g.memo[k]; known {
		return ok
	}
	ok := g.perms != nil && g.perms.Allows(op, name)
	if len(g.memo) >= maxGrantMemo {
		clear(g.memo)
	}
	g.memo[k] = ok
	return ok
}

// permit refuses an operation the user's permissions do not cover with
// RabbitMQ's 403 (rabbit_access_control:check_resource_access/4). kind is
// "exchange" or "queue"; the default exchange is checked as amq.default.
func (c *Conn) permit(op auth.Op, kind, name string) error {
	if kind == "exchange" && name == "" {
		name = "amq.default"
	}
	if c.allows(op, name) {
		return nil
	}
	return reply.Errorf(reply.AccessRefused, "%s access to %s '%s' in vhost '%s' refused for user '%s'",
		op, kind, name, c.vhost, c.user)
}
