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

var permissionCodec = codec[topology.Permission]{topokv.DecodePermission, topokv.EncodePermission}

// SetPermission creates or replaces a user's permission in a vhost. All
// three expressions are required, as in RabbitMQ, and must compile.
func (s *Service) SetPermission(ctx context.Context, req *pb.SetPermissionRequest) (*pb.Permission, error) {
	if req.Configure == nil || req.Write == nil || req.Read == nil {
		return nil, status.Error(codes.InvalidArgument, "configure, write and read are all required")
	}
	p := topology.Permission{VHost: req.GetVhost(), User: req.GetUser(),
		Configure: req.GetConfigure(), Write: req.GetWrite(), Read: req.GetRead()}
	if err := topology.CheckPermission(p); err != nil {
		return nil, invalid(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if _, err := s.vhost(i.Name, p.VHost); err != nil {
		return nil, err
	}
	if _, err := s.user(i.Name, p.User); err != nil {
		return nil, err
	}
	val, err := permissionCodec.encode(p)
	if err != nil {
		return nil, storageError(err)
	}
	rev, err := s.kv.Put(ctx, topokv.PermissionKey(i.Name, p.VHost, p.User), val)
	if err != nil {
		return nil, storageError(err)
	}
	return permissionPB(p), s.settle(ctx, rev)
}

// ListPermissions lists an instance's permissions by vhost, then user,
// only those of one vhost or one user when the request names them.
func (s *Service) ListPermissions(ctx context.Context, req *pb.ListPermissionsRequest) (*pb.ListPermissionsResponse, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	var list []topology.Permission
	s.mirror.ReadAccess(i.Name, func(a *topokv.Access) {
		a.Permissions(func(p topology.Permission) {
			if (req.GetVhost() == "" || p.VHost == req.GetVhost()) && (req.GetUser() == "" || p.User == req.GetUser()) {
				list = append(list, p)
			}
		})
	})
	slices.SortFunc(list, func(a, b topology.Permission) int {
		return cmp.Or(cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.User, b.User))
	})
	resp := &pb.ListPermissionsResponse{Permissions: make([]*pb.Permission, 0, len(list))}
	for _, p := range list {
		resp.Permissions = append(resp.Permissions, permissionPB(p))
	}
	return resp, nil
}

// GetPermission returns a user's permission in a vhost.
func (s *Service) GetPermission(ctx context.Context, req *pb.GetPermissionRequest) (*pb.Permission, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	p, err := s.permission(i.Name, req.GetVhost(), req.GetUser())
	if err != nil {
		return nil, err
	}
	return permissionPB(p), nil
}

func (s *Service) permission(inst, vhost, user string) (topology.Permission, error) {
	var p topology.Permission
	var ok bool
	s.mirror.ReadAccess(inst, func(a *topokv.Access) { p, ok = a.Permission(vhost, user) })
	if !ok {
		return p, status.Errorf(codes.NotFound, "user %q has no permission in vhost %q", user, vhost)
	}
	return p, nil
}

// DeletePermission removes a user's permission in a vhost.
func (s *Service) DeletePermission(ctx context.Context, req *pb.DeletePermissionRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if _, err := s.permission(i.Name, req.GetVhost(), req.GetUser()); err != nil {
		return nil, err
	}
	if err := s.kv.Delete(ctx, topokv.PermissionKey(i.Name, req.GetVhost(), req.GetUser())); err != nil {
		return nil, storageError(err)
	}
	return &emptypb.Empty{}, s.settleLatest(ctx)
}
