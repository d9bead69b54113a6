package provision

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/apiauth"
)

// CreateToken creates a token scoped to an instance; the response is the
// only place its secret appears.
func (s *Service) CreateToken(ctx context.Context, req *pb.CreateTokenRequest) (*pb.CreateTokenResponse, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	if err := topology.CheckDescription(req.GetDescription()); err != nil {
		return nil, invalid(err)
	}
	s.mu.Lock() // an instance's deletion revokes its tokens: none may slip in meanwhile
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	t, secret, err := s.tokens.Create(ctx, i.Name, req.GetDescription())
	if err != nil {
		return nil, storageError(err)
	}
	return &pb.CreateTokenResponse{Token: tokenPB(t), Secret: secret}, nil
}

// ListTokens lists an instance's tokens, oldest first, without secrets.
func (s *Service) ListTokens(ctx context.Context, req *pb.ListTokensRequest) (*pb.ListTokensResponse, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	list, err := s.tokens.List(ctx, i.Name)
	if err != nil {
		return nil, storageError(err)
	}
	resp := &pb.ListTokensResponse{Tokens: make([]*pb.Token, 0, len(list))}
	for _, t := range list {
		resp.Tokens = append(resp.Tokens, tokenPB(t))
	}
	return resp, nil
}

// DeleteToken revokes a token at once.
func (s *Service) DeleteToken(ctx context.Context, req *pb.DeleteTokenRequest) (*emptypb.Empty, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	err = s.tokens.Delete(ctx, i.Name, req.GetTokenId())
	if errors.Is(err, apiauth.ErrNoToken) {
		return nil, status.Errorf(codes.NotFound, "token %q not found", req.GetTokenId())
	}
	if err != nil {
		return nil, storageError(err)
	}
	return &emptypb.Empty{}, nil
}
