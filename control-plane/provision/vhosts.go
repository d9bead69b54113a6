package provision

import (
	"context"
	"errors"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/topo"
)

// CreateVHost creates a vhost, within the instance's vhost quota.
func (s *Service) CreateVHost(ctx context.Context, req *pb.CreateVHostRequest) (*pb.VHost, error) {
	v := topology.VHost{Name: req.GetName(), Description: req.GetDescription(), Tags: req.GetTags()}
	if err := checkVHost(v); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	exists := status.Errorf(codes.AlreadyExists, "vhost %q already exists", v.Name)
	if _, err := s.vhost(i.Name, v.Name); err == nil {
		return nil, exists
	}
	if err := s.checkVHostQuota(i); err != nil {
		return nil, err
	}
	err = s.topo.CreateVHost(ctx, i.Name, v)
	if errors.Is(err, topo.ErrVHostExists) {
		return nil, exists
	}
	if err != nil {
		return nil, storageError(err)
	}
	return vhostPB(v), nil
}

func checkVHost(v topology.VHost) error {
	for _, err := range []error{topology.CheckEntityName("vhost", v.Name),
		topology.CheckDescription(v.Description), topology.CheckTags(v.Tags)} {
		if err != nil {
			return invalid(err)
		}
	}
	return nil
}

func (s *Service) checkVHostQuota(i topology.Instance) error {
	limit := i.Quotas.MaxVHosts
	if limit == 0 {
		return nil
	}
	n := 0
	s.mirror.Read(i.Name, func(ix *route.Index) { ix.VHosts(func(topology.VHost) { n++ }) })
	if n >= int(limit) {
		return status.Errorf(codes.ResourceExhausted, "instance %q has %d vhosts, its quota", i.Name, n)
	}
	return nil
}

// ListVHosts lists an instance's vhosts by name.
func (s *Service) ListVHosts(ctx context.Context, req *pb.ListVHostsRequest) (*pb.ListVHostsResponse, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	var list []topology.VHost
	s.mirror.Read(i.Name, func(ix *route.Index) { ix.VHosts(func(v topology.VHost) { list = append(list, v) }) })
	slices.SortFunc(list, func(a, b topology.VHost) int { return strings.Compare(a.Name, b.Name) })
	resp := &pb.ListVHostsResponse{Vhosts: make([]*pb.VHost, 0, len(list))}
	for _, v := range list {
		resp.Vhosts = append(resp.Vhosts, vhostPB(v))
	}
	return resp, nil
}

// GetVHost returns one vhost.
func (s *Service) GetVHost(ctx context.Context, req *pb.GetVHostRequest) (*pb.VHost, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	v, err := s.vhost(i.Name, req.GetVhost())
	if err != nil {
		return nil, err
	}
	return vhostPB(v), nil
}

func (s *Service) vhost(inst, name string) (topology.VHost, error) {
	var v topology.VHost
	var ok bool
	s.mirror.Read(inst, func(ix *route.Index) { v, ok = ix.VHostRecord(name) })
	if !ok {
		return v, status.Errorf(codes.NotFound, "vhost %q not found", name)
	}
	return v, nil
}

// UpdateVHost changes the settings named in the update mask.
func (s *Service) UpdateVHost(ctx context.Context, req *pb.UpdateVHostRequest) (*pb.VHost, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	v, err := s.vhost(i.Name, req.GetVhost())
	if err != nil {
		return nil, err
	}
	if err := applyVHostSettings(&v, req.GetSettings(), req.GetUpdateMask().GetPaths()); err != nil {
		return nil, err
	}
	err = s.topo.UpdateVHost(ctx, i.Name, v)
	if errors.Is(err, topo.ErrNoVHost) {
		return nil, status.Errorf(codes.NotFound, "vhost %q not found", v.Name)
	}
	if err != nil {
		return nil, storageError(err)
	}
	return vhostPB(v), nil
}

func applyVHostSettings(v *topology.VHost, set *pb.VHostSettings, paths []string) error {
	for _, p := range paths {
		switch p {
		case "description":
			v.Description = set.GetDescription()
		case "tags":
			v.Tags = set.GetTags()
		default:
			return status.Errorf(codes.InvalidArgument, "a vhost has no setting %q", p)
		}
	}
	return checkVHost(*v)
}

// DeleteVHost deletes a vhost and everything in it.
func (s *Service) DeleteVHost(ctx context.Context, req *pb.DeleteVHostRequest) (*emptypb.Empty, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if _, err := s.vhost(i.Name, req.GetVhost()); err != nil {
		return nil, err
	}
	if err := s.topo.DeleteVHost(ctx, i.Name, req.GetVhost()); err != nil {
		return nil, storageError(err)
	}
	return &emptypb.Empty{}, nil
}
