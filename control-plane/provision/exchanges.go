package provision

import (
	"cmp"
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
)

// CreateExchange declares an exchange through the topology service, as a
// gateway's exchange.declare does, after the checks the gateway makes:
// the name rules and the vhost.
func (s *Service) CreateExchange(ctx context.Context, req *pb.CreateExchangeRequest) (*pb.Exchange, error) {
	x := topology.Exchange{VHost: req.GetVhost(), Name: req.GetName(), Type: req.GetType(),
		Durable: req.Durable == nil || *req.Durable, AutoDelete: req.GetAutoDelete(), Internal: req.GetInternal()}
	args, err := argsFromPB(req.GetArguments())
	if err != nil {
		return nil, err
	}
	x.Args = args
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if err := s.checkExchange(i, x); err != nil {
		return nil, err
	}
	if _, err := s.topo.DeclareExchange(ctx, i.Name, x); err != nil {
		return nil, replyStatus(err)
	}
	return s.GetExchange(ctx, &pb.GetExchangeRequest{Instance: i.Name, Vhost: x.VHost, Name: x.Name})
}

// checkExchange makes the checks a gateway makes before a declare: the
// name rules, the type and the vhost; the topology service checks the
// instance's quota.
func (s *Service) checkExchange(i topology.Instance, x topology.Exchange) error {
	if err := checkDeclaredName("exchange", x.VHost, x.Name); err != nil {
		return err
	}
	if !topology.ValidExchangeType(x.Type) {
		return status.Errorf(codes.InvalidArgument, "unknown exchange type '%s'", x.Type)
	}
	_, err := s.vhost(i.Name, x.VHost)
	return err
}

// checkDeclaredName applies RabbitMQ's rules to a declared name: 1-255
// bytes of UTF-8, not in the reserved amq. namespace.
func checkDeclaredName(kind, vhost, name string) error {
	if name == "" {
		return status.Errorf(codes.InvalidArgument, "%s name must be 1-%d bytes", kind, topology.MaxNameLen)
	}
	for _, err := range []error{topology.CheckName(kind, name), topology.CheckNotReserved(kind, vhost, name)} {
		if err != nil {
			return status.Error(codes.InvalidArgument, replyText(err))
		}
	}
	return nil
}

// ListExchanges lists exchanges by vhost, then name.
func (s *Service) ListExchanges(ctx context.Context, req *pb.ListExchangesRequest) (*pb.ListExchangesResponse, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if req.GetVhost() != "" {
		if _, err := s.vhost(i.Name, req.GetVhost()); err != nil {
			return nil, err
		}
	}
	var list []topology.Exchange
	s.mirror.Read(i.Name, func(ix *route.Index) {
		ix.Exchanges(func(x topology.Exchange) {
			if req.GetVhost() == "" || x.VHost == req.GetVhost() {
				list = append(list, x)
			}
		})
	})
	slices.SortFunc(list, func(a, b topology.Exchange) int {
		return cmp.Or(cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.Name, b.Name))
	})
	resp := &pb.ListExchangesResponse{Exchanges: make([]*pb.Exchange, 0, len(list))}
	for _, x := range list {
		resp.Exchanges = append(resp.Exchanges, exchangePB(x))
	}
	return resp, nil
}

// GetExchange returns one exchange.
func (s *Service) GetExchange(ctx context.Context, req *pb.GetExchangeRequest) (*pb.Exchange, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	var x topology.Exchange
	var ok bool
	s.mirror.Read(i.Name, func(ix *route.Index) { x, ok = ix.Exchange(req.GetVhost(), req.GetName()) })
	if !ok {
		return nil, status.Errorf(codes.NotFound, "exchange %q in vhost %q not found", req.GetName(), req.GetVhost())
	}
	return exchangePB(x), nil
}

// DeleteExchange deletes an exchange and its bindings; the exchanges
// every vhost has cannot be deleted, as over AMQP.
func (s *Service) DeleteExchange(ctx context.Context, req *pb.DeleteExchangeRequest) (*emptypb.Empty, error) {
	if topology.IsSystemExchange(req.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "deletion of system exchange '%s' in vhost '%s' not allowed",
			req.GetName(), req.GetVhost())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if _, err := s.GetExchange(ctx, &pb.GetExchangeRequest{Instance: i.Name, Vhost: req.GetVhost(), Name: req.GetName()}); err != nil {
		return nil, err
	}
	if _, err := s.topo.DeleteExchange(ctx, i.Name, req.GetVhost(), req.GetName(), req.GetIfUnused()); err != nil {
		return nil, replyStatus(err)
	}
	return &emptypb.Empty{}, nil
}
