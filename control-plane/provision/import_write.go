package provision

import (
	"context"
	"errors"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/control-plane/definitions"
	"github.com/warrenmq/warren/control-plane/topo"
)

// writeImport writes a checked file in dependency order: vhosts, users,
// permissions, policies, exchanges, queues, bindings. It stops at the
// first failure, which only the storage or a storage node can cause now.
func (s *Service) writeImport(ctx context.Context, inst string, m *definitions.Model) (*pb.ImportDefinitionsResponse, error) {
	for _, step := range []func(context.Context, string, *definitions.Model) error{
		s.importAccess, s.importTopology,
	} {
		if err := step(ctx, inst, m); err != nil {
			return nil, err
		}
	}
	return &pb.ImportDefinitionsResponse{
		Vhosts: uint32(len(m.VHosts)), Users: uint32(len(m.Users)), Permissions: uint32(len(m.Permissions)),
		Policies: uint32(len(m.Policies)), Exchanges: uint32(len(m.Exchanges)), Queues: uint32(len(m.Queues)),
		Bindings: uint32(len(m.Bindings)),
	}, nil
}

func (s *Service) importAccess(ctx context.Context, inst string, m *definitions.Model) error {
	for _, v := range m.VHosts {
		if err := s.topo.CreateVHost(ctx, inst, v); err != nil && !errors.Is(err, topo.ErrVHostExists) {
			return storageError(err)
		}
	}
	for _, u := range m.Users {
		if err := put(ctx, s, topokv.UserKey(inst, u.Name), u, userCodec.encode); err != nil {
			return err
		}
	}
	for _, p := range m.Permissions {
		if err := put(ctx, s, topokv.PermissionKey(inst, p.VHost, p.User), p, permissionCodec.encode); err != nil {
			return err
		}
	}
	for _, p := range m.Policies {
		if err := s.putPolicyLocked(ctx, inst, p); err != nil {
			return err
		}
	}
	return nil
}

// put writes a record whatever is there, and waits until the mirror has it.
func put[T any](ctx context.Context, s *Service, key string, v T, encode func(T) ([]byte, error)) error {
	val, err := encode(v)
	if err != nil {
		return storageError(err)
	}
	rev, err := s.kv.Put(ctx, key, val)
	if err != nil {
		return storageError(err)
	}
	return s.settle(ctx, rev)
}

func (s *Service) importTopology(ctx context.Context, inst string, m *definitions.Model) error {
	for _, x := range m.Exchanges {
		if _, err := s.topo.DeclareExchange(ctx, inst, x); err != nil {
			return replyStatus(err)
		}
	}
	for _, q := range m.Queues {
		if _, err := s.topo.DeclareQueue(ctx, inst, "", q); err != nil {
			return replyStatus(err)
		}
	}
	for _, b := range m.Bindings {
		if _, err := s.topo.Bind(ctx, inst, b); err != nil {
			return replyStatus(err)
		}
	}
	return nil
}
