package provision

import (
	"cmp"
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// PutPolicy creates or replaces a policy. It answers once the control
// plane's mirror has it; the storage nodes and gateways apply it as their
// mirrors get it (services/policies, route.Index.SetPolicies).
func (s *Service) PutPolicy(ctx context.Context, req *pb.PutPolicyRequest) (*pb.Policy, error) {
	p := topology.Policy{VHost: req.GetVhost(), Name: req.GetName(), Pattern: req.GetPattern(),
		ApplyTo: cmp.Or(req.GetApplyTo(), topology.ApplyToAll), Priority: int(req.GetPriority()),
		Definition: req.GetDefinition().AsMap()}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if err := s.checkPolicy(i, p); err != nil {
		return nil, err
	}
	if err := s.putPolicyLocked(ctx, i.Name, p); err != nil {
		return nil, err
	}
	return policyPB(p), nil
}

func (s *Service) checkPolicy(i topology.Instance, p topology.Policy) error {
	if err := topology.CheckPolicy(p); err != nil {
		return invalid(err)
	}
	_, err := s.vhost(i.Name, p.VHost)
	return err
}

func (s *Service) putPolicyLocked(ctx context.Context, inst string, p topology.Policy) error {
	val, err := topokv.EncodePolicy(p)
	if err != nil {
		return storageError(err)
	}
	rev, err := s.kv.Put(ctx, topokv.PolicyKey(inst, p.VHost, p.Name), val)
	if err != nil {
		return storageError(err)
	}
	return s.settle(ctx, rev)
}

// ListPolicies lists policies by vhost, then name; ?vhost= narrows.
func (s *Service) ListPolicies(ctx context.Context, req *pb.ListPoliciesRequest) (*pb.ListPoliciesResponse, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	list := s.policies(i.Name, req.GetVhost())
	resp := &pb.ListPoliciesResponse{Policies: make([]*pb.Policy, 0, len(list))}
	for _, p := range list {
		resp.Policies = append(resp.Policies, policyPB(p))
	}
	return resp, nil
}

func (s *Service) policies(inst, vhost string) []topology.Policy {
	var list []topology.Policy
	s.mirror.ReadAccess(inst, func(a *topokv.Access) {
		a.Policies(func(p topology.Policy) {
			if vhost == "" || p.VHost == vhost {
				list = append(list, p)
			}
		})
	})
	slices.SortFunc(list, func(a, b topology.Policy) int {
		return cmp.Or(cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.Name, b.Name))
	})
	return list
}

// GetPolicy returns one policy.
func (s *Service) GetPolicy(ctx context.Context, req *pb.GetPolicyRequest) (*pb.Policy, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	p, err := s.policy(i.Name, req.GetVhost(), req.GetName())
	if err != nil {
		return nil, err
	}
	return policyPB(p), nil
}

func (s *Service) policy(inst, vhost, name string) (topology.Policy, error) {
	var p topology.Policy
	var ok bool
	s.mirror.ReadAccess(inst, func(a *topokv.Access) { p, ok = a.Policy(vhost, name) })
	if !ok {
		return p, status.Errorf(codes.NotFound, "policy %q in vhost %q not found", name, vhost)
	}
	return p, nil
}

// DeletePolicy deletes a policy.
func (s *Service) DeletePolicy(ctx context.Context, req *pb.DeletePolicyRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if _, err := s.policy(i.Name, req.GetVhost(), req.GetName()); err != nil {
		return nil, err
	}
	if err := s.kv.Delete(ctx, topokv.PolicyKey(i.Name, req.GetVhost(), req.GetName())); err != nil {
		return nil, storageError(err)
	}
	return &emptypb.Empty{}, s.settleLatest(ctx)
}
