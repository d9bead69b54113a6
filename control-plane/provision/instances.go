package provision

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

var instanceCodec = codec[topology.Instance]{topokv.DecodeInstance, topokv.EncodeInstance}

// CreateInstance creates an instance with its vhost "/".
func (s *Service) CreateInstance(ctx context.Context, req *pb.CreateInstanceRequest) (*pb.Instance, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	if err := topology.CheckInstanceName(req.GetName()); err != nil {
		return nil, invalid(err)
	}
	i := topology.Instance{Name: req.GetName(), Quotas: *s.opts.DefaultQuotas,
		Status: topology.Active, Created: time.Now().UTC().Truncate(time.Second)}
	if req.GetQuotas() != nil {
		applyQuotas(&i.Quotas, req.GetQuotas())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.createInstanceLocked(ctx, i); err != nil {
		return nil, err
	}
	return s.instancePB(i), nil
}

// createInstanceLocked writes the vhost "/" and then the instance record:
// an instance exists once its record does, so a create cut short leaves
// nothing visible, and a retry keeps the vhost it finds.
func (s *Service) createInstanceLocked(ctx context.Context, i topology.Instance) error {
	exists := status.Errorf(codes.AlreadyExists, "instance %q already exists", i.Name)
	if _, ok := s.lookupInstance(i.Name); ok {
		return exists
	}
	if err := s.topo.EnsureVHost(ctx, i.Name, topology.DefaultVHost); err != nil {
		return storageError(err)
	}
	return create(ctx, s, topokv.InstanceKey(i.Name), instanceCodec, i, exists)
}

// lookupInstance reads an instance's record from the mirror.
func (s *Service) lookupInstance(name string) (topology.Instance, bool) {
	return s.mirror.Instance(name)
}

// ListInstances lists every instance for the admin, the token's own for a
// scoped token.
func (s *Service) ListInstances(ctx context.Context, _ *pb.ListInstancesRequest) (*pb.ListInstancesResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var list []topology.Instance
	s.mirror.Instances(func(i topology.Instance) {
		if p.MayAccess(i.Name) {
			list = append(list, i)
		}
	})
	slices.SortFunc(list, func(a, b topology.Instance) int { return strings.Compare(a.Name, b.Name) })
	resp := &pb.ListInstancesResponse{Instances: make([]*pb.Instance, 0, len(list))}
	for _, i := range list {
		resp.Instances = append(resp.Instances, s.instancePB(i))
	}
	return resp, nil
}

// GetInstance returns one instance.
func (s *Service) GetInstance(ctx context.Context, req *pb.GetInstanceRequest) (*pb.Instance, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	return s.instancePB(i), nil
}

// UpdateInstance changes the quotas present in the request.
func (s *Service) UpdateInstance(ctx context.Context, req *pb.UpdateInstanceRequest) (*pb.Instance, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	name := req.GetInstance()
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := rewrite(ctx, s, topokv.InstanceKey(name), instanceCodec, func(i *topology.Instance) error {
		if i.Status != topology.Active {
			return status.Errorf(codes.FailedPrecondition, "instance %q is being deleted", name)
		}
		if req.GetQuotas() != nil {
			applyQuotas(&i.Quotas, req.GetQuotas())
		}
		return nil
	}, status.Errorf(codes.NotFound, "instance %q not found", name))
	if err != nil {
		return nil, err
	}
	i.Name = name
	return s.instancePB(i), nil
}

// DeleteInstance deletes an instance and everything in it. The record is
// marked deleting first and removed last: an instance whose deletion was
// cut short stays, refusing changes, until a repeated DELETE finishes it.
// The default instance stays: the deployment's own clients use it.
func (s *Service) DeleteInstance(ctx context.Context, req *pb.DeleteInstanceRequest) (*emptypb.Empty, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	name := req.GetInstance()
	if name == topology.DefaultInstance {
		return nil, status.Error(codes.FailedPrecondition, "the default instance cannot be deleted")
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := rewrite(ctx, s, topokv.InstanceKey(name), instanceCodec, func(i *topology.Instance) error {
		i.Status = topology.Deleting
		return nil
	}, status.Errorf(codes.NotFound, "instance %q not found", name))
	if err != nil {
		return nil, err
	}
	if err := s.tokens.DeleteInstance(ctx, name); err != nil {
		return nil, storageError(err)
	}
	if err := s.topo.DeleteInstanceContents(ctx, name); err != nil {
		return nil, storageError(err)
	}
	if err := s.kv.Delete(ctx, topokv.InstanceKey(name)); err != nil {
		return nil, storageError(err)
	}
	return &emptypb.Empty{}, s.settleLatest(ctx)
}
