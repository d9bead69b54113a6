package server

import (
	"context"
	"fmt"
	"time"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/conn"
)

// EnforceAccess closes the connections whose instance, vhost or user goes
// away, with 320 CONNECTION_FORCED, as RabbitMQ closes the connections of
// a deleted vhost or user. It sweeps on every change of the mirror's
// access records, until ctx ends.
func (s *Server) EnforceAccess(ctx context.Context, m *topokv.Mirror) {
	gen := m.AccessGeneration()
	for {
		if err := m.WaitFor(ctx, m.Revision()+1); err != nil {
			if ctx.Err() != nil {
				return
			}
			select { // the watch failed; it is being restarted
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if g := m.AccessGeneration(); g != gen {
			gen = g
			s.sweep(m)
		}
	}
}

// sweep closes every open connection that lost its instance, vhost or user.
func (s *Server) sweep(m *topokv.Mirror) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		id := c.Identity()
		if id == nil {
			continue // still in its handshake, which reads the records itself
		}
		if why := evictReason(m, id); why != "" {
			s.log.Info("closing connection", "conn", c.ID(), "instance", id.Instance, "why", why)
			// Close waits for the connection's dispatch lock, which a long
			// declare may hold: never hold up the sweep for it.
			go c.Close(reply.ConnectionForced, why)
		}
	}
}

// evictReason is RabbitMQ's close text for a connection whose vhost
// (rabbit_vhost:delete) or user (rabbit_auth_backend_internal:delete_user)
// was deleted, or "" when the connection may stay. A deleted instance
// deletes its vhosts, so its connections hear that their vhost is deleted,
// from the moment the deletion starts.
func evictReason(m *topokv.Mirror, id *conn.Identity) string {
	gone, userGone := false, false
	m.ReadAccess(id.Instance, func(a *topokv.Access) {
		i, ok := a.Instance()
		gone = !ok || i.Status == topology.Deleting
		_, hasUser := a.User(id.User)
		userGone = !hasUser
	})
	if !gone {
		m.Read(id.Instance, func(ix *route.Index) { gone = !ix.VHost(id.VHost) })
	}
	switch {
	case gone:
		return fmt.Sprintf("vhost '%s' is deleted", id.VHost)
	case userGone:
		return fmt.Sprintf("user '%s' is deleted", id.User)
	}
	return ""
}
