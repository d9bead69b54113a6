package conn

import (
	"context"
	"time"
)

// seatTimeout bounds the round trip to the cluster-wide connection count
// on connection.open and close; past it the count is the gateway's own
// until Seats syncs (see Seats.Admit).
const seatTimeout = 5 * time.Second

// Seats counts each instance's connections across every gateway, for
// max_connections (api/connquota implements it over NATS KV).
type Seats interface {
	// Admit counts a connection of inst unless the instance already has
	// max across the cluster (0: no limit), and reports whether it did.
	// An error means the cluster count could not be reached: the result is
	// this gateway's decision alone, which the caller keeps.
	Admit(ctx context.Context, inst string, max uint32) (bool, error)
	// Leave uncounts a connection Admit counted; on error the cluster
	// count keeps it until Seats syncs.
	Leave(ctx context.Context, inst string) error
	// Follow has fn told how many gateways serve connections of an
	// instance whenever that changes, to split its max_publish_rate.
	Follow(fn func(inst string, gateways int))
}

// admitConn counts a connection of inst against max (0: no limit), across
// the cluster when Seats is set, and reports whether it was counted.
func (c *Config) admitConn(inst string, max uint32) bool {
	if c.Seats == nil {
		return c.tenants.admit(inst, max)
	}
	ctx, cancel := context.WithTimeout(context.Background(), seatTimeout)
	defer cancel()
	ok, err := c.Seats.Admit(ctx, inst, max)
	if err != nil {
		c.Log.Warn("connection counted on this gateway only", "instance", inst, "err", err)
	}
	return ok
}

// leaveConn uncounts a connection admitConn counted.
func (c *Config) leaveConn(inst string) {
	if c.Seats == nil {
		c.tenants.leave(inst)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), seatTimeout)
	defer cancel()
	if err := c.Seats.Leave(ctx, inst); err != nil {
		c.Log.Warn("uncounting connection cluster-wide; retried at the next sync", "instance", inst, "err", err)
	}
}
