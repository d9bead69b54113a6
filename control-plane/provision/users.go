package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/warrenmq/warren/api/passhash"
	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

var userCodec = codec[topology.User]{topokv.DecodeUser, topokv.EncodeUser}

// maxPasswordLen bounds a clear-text password: hashing is cheap, but a
// request must not make the server hash megabytes.
const maxPasswordLen = 1024

// credentials is how a request sets a user's password: in clear, as a
// hash, or neither.
type credentials struct {
	password, hash, algorithm string
}

// resolve turns the request's credentials into what the record keeps.
func (c credentials) resolve() (hash, algorithm string, err error) {
	switch {
	case c.password != "" && c.hash != "":
		return "", "", errors.New("give password or password_hash, not both")
	case c.password != "":
		if len(c.password) > maxPasswordLen {
			return "", "", fmt.Errorf("password longer than %d bytes", maxPasswordLen)
		}
		if c.algorithm != "" {
			return "", "", errors.New("hashing_algorithm goes with password_hash; a password is hashed with " + passhash.SHA256)
		}
		return passhash.Hash(c.password), passhash.SHA256, nil
	}
	algorithm = c.algorithm
	if algorithm == "" {
		algorithm = passhash.SHA256
	}
	return c.hash, algorithm, passhash.Check(algorithm, c.hash)
}

// CreateUser creates a user; only the password's salted hash is kept.
func (s *Service) CreateUser(ctx context.Context, req *pb.CreateUserRequest) (*pb.User, error) {
	u := topology.User{Name: req.GetName(), Tags: req.GetTags()}
	if err := checkUser(u); err != nil {
		return nil, err
	}
	var err error
	u.PasswordHash, u.HashingAlgorithm, err = credentials{req.GetPassword(), req.GetPasswordHash(), req.GetHashingAlgorithm()}.resolve()
	if err != nil {
		return nil, invalid(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	exists := status.Errorf(codes.AlreadyExists, "user %q already exists", u.Name)
	if err := create(ctx, s, topokv.UserKey(i.Name, u.Name), userCodec, u, exists); err != nil {
		return nil, err
	}
	return userPB(u), nil
}

func checkUser(u topology.User) error {
	if err := topology.CheckEntityName("user", u.Name); err != nil {
		return invalid(err)
	}
	if err := topology.CheckTags(u.Tags); err != nil {
		return invalid(err)
	}
	return nil
}

// ListUsers lists an instance's users by name.
func (s *Service) ListUsers(ctx context.Context, req *pb.ListUsersRequest) (*pb.ListUsersResponse, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	var list []topology.User
	s.mirror.ReadAccess(i.Name, func(a *topokv.Access) { a.Users(func(u topology.User) { list = append(list, u) }) })
	slices.SortFunc(list, func(a, b topology.User) int { return strings.Compare(a.Name, b.Name) })
	resp := &pb.ListUsersResponse{Users: make([]*pb.User, 0, len(list))}
	for _, u := range list {
		resp.Users = append(resp.Users, userPB(u))
	}
	return resp, nil
}

// GetUser returns one user.
func (s *Service) GetUser(ctx context.Context, req *pb.GetUserRequest) (*pb.User, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	u, err := s.user(i.Name, req.GetUser())
	if err != nil {
		return nil, err
	}
	return userPB(u), nil
}

func (s *Service) user(inst, name string) (topology.User, error) {
	var u topology.User
	var ok bool
	s.mirror.ReadAccess(inst, func(a *topokv.Access) { u, ok = a.User(name) })
	if !ok {
		return u, status.Errorf(codes.NotFound, "user %q not found", name)
	}
	return u, nil
}

// UpdateUser changes the settings named in the update mask.
func (s *Service) UpdateUser(ctx context.Context, req *pb.UpdateUserRequest) (*pb.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	name := req.GetUser()
	u, err := rewrite(ctx, s, topokv.UserKey(i.Name, name), userCodec, func(u *topology.User) error {
		return applyUserSettings(u, req.GetSettings(), req.GetUpdateMask().GetPaths())
	}, status.Errorf(codes.NotFound, "user %q not found", name))
	if err != nil {
		return nil, err
	}
	u.Name = name
	return userPB(u), nil
}

// applyUserSettings applies an update. A new password comes as password
// (not empty) or password_hash ("" removes the password), with
// hashing_algorithm only beside password_hash.
func applyUserSettings(u *topology.User, set *pb.UserSettings, paths []string) error {
	var creds credentials
	has := map[string]bool{}
	for _, p := range paths {
		has[p] = true
		switch p {
		case "password":
			creds.password = set.GetPassword()
		case "password_hash":
			creds.hash = set.GetPasswordHash()
		case "hashing_algorithm":
			creds.algorithm = set.GetHashingAlgorithm()
		case "tags":
			u.Tags = set.GetTags()
		default:
			return status.Errorf(codes.InvalidArgument, "a user has no setting %q", p)
		}
	}
	switch {
	case has["password"] && creds.password == "":
		return status.Error(codes.InvalidArgument, `password is empty; set password_hash to "" to remove the password`)
	case has["hashing_algorithm"] && !has["password_hash"]:
		return status.Error(codes.InvalidArgument, "hashing_algorithm goes with password_hash")
	case has["password"] || has["password_hash"]:
		var err error
		if u.PasswordHash, u.HashingAlgorithm, err = creds.resolve(); err != nil {
			return invalid(err)
		}
	}
	return checkUser(*u)
}

// DeleteUser deletes a user and its permissions, the permissions first:
// a user's access never outlives it.
func (s *Service) DeleteUser(ctx context.Context, req *pb.DeleteUserRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	name := req.GetUser()
	if _, err := s.user(i.Name, name); err != nil {
		return nil, err
	}
	var keys []string
	s.mirror.ReadAccess(i.Name, func(a *topokv.Access) {
		a.Permissions(func(p topology.Permission) {
			if p.User == name {
				keys = append(keys, topokv.PermissionKey(i.Name, p.VHost, name))
			}
		})
	})
	for _, k := range append(keys, topokv.UserKey(i.Name, name)) {
		if err := s.kv.Delete(ctx, k); err != nil {
			return nil, storageError(err)
		}
	}
	return &emptypb.Empty{}, s.settleLatest(ctx)
}
