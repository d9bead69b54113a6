package provision

import (
	"context"
	"errors"
	"time"

	"github.com/warrenmq/warren/api/passhash"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// guestPassword is RabbitMQ's default user's password; guest may log in
// only from loopback.
const guestPassword = "guest"

var errSeeded = errors.New("already there")

// EnsureDefault gives the default instance what a fresh RabbitMQ node has:
// the vhost "/" and the user guest, an administrator with full access to
// "/". Its quotas are unlimited: it is the deployment's own instance,
// bounded by the server-wide limits. The instance record goes last, as
// the mark that seeding finished: once it exists nothing is written
// again, so a guest the operator deleted or changed stays so across
// restarts, as on RabbitMQ.
func (s *Service) EnsureDefault(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.lookupInstance(topology.DefaultInstance); ok {
		return nil
	}
	inst := topology.DefaultInstance
	if err := s.topo.EnsureVHost(ctx, inst, topology.DefaultVHost); err != nil {
		return err
	}
	guest := topology.User{Name: topology.GuestUser, PasswordHash: passhash.Hash(guestPassword),
		HashingAlgorithm: passhash.SHA256, Tags: []string{topology.GuestTag}}
	steps := []func() error{
		func() error { return create(ctx, s, topokv.UserKey(inst, guest.Name), userCodec, guest, errSeeded) },
		func() error {
			return create(ctx, s, topokv.PermissionKey(inst, topology.DefaultVHost, guest.Name), permissionCodec,
				topology.FullAccess(topology.DefaultVHost, guest.Name), errSeeded)
		},
		func() error {
			return create(ctx, s, topokv.InstanceKey(inst), instanceCodec, topology.Instance{Name: inst,
				Status: topology.Active, Created: time.Now().UTC().Truncate(time.Second)}, errSeeded)
		},
	}
	for _, step := range steps { // in order: the instance record only after the rest
		if err := step(); err != nil && !errors.Is(err, errSeeded) {
			return err
		}
	}
	return nil
}
