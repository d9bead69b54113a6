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

// CreateBinding binds through the topology service, as queue.bind and
// exchange.bind do: both ends must exist, binding twice is a no-op.
func (s *Service) CreateBinding(ctx context.Context, req *pb.CreateBindingRequest) (*pb.Binding, error) {
	kind, err := destKind(req.GetDestinationType())
	if err != nil {
		return nil, err
	}
	args, err := argsFromPB(req.GetArguments())
	if err != nil {
		return nil, err
	}
	b := topology.Binding{VHost: req.GetVhost(), Source: req.GetSource(), DestKind: kind,
		Dest: req.GetDestination(), Key: req.GetRoutingKey(), Args: args}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if err := s.checkBinding(i, b); err != nil {
		return nil, err
	}
	if _, err := s.topo.Bind(ctx, i.Name, b); err != nil {
		return nil, replyStatus(err)
	}
	return bindingPB(b), nil
}

// checkBinding makes the checks a gateway makes before a bind.
func (s *Service) checkBinding(i topology.Instance, b topology.Binding) error {
	if b.Source == "" {
		return status.Error(codes.InvalidArgument, "operation not permitted on the default exchange")
	}
	if b.DestKind == topology.ToExchange && b.Dest == "" {
		return status.Error(codes.InvalidArgument, "operation not permitted on the default exchange")
	}
	for _, n := range []string{b.Source, b.Dest, b.Key} {
		if err := topology.CheckName("binding", n); err != nil {
			return status.Error(codes.InvalidArgument, replyText(err))
		}
	}
	_, err := s.vhost(i.Name, b.VHost)
	return err
}

// ListBindings lists bindings by vhost, source, destination and key,
// without the default exchange's implicit ones.
func (s *Service) ListBindings(ctx context.Context, req *pb.ListBindingsRequest) (*pb.ListBindingsResponse, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if req.GetVhost() != "" {
		if _, err := s.vhost(i.Name, req.GetVhost()); err != nil {
			return nil, err
		}
	}
	list := s.bindings(i.Name, req.GetVhost())
	resp := &pb.ListBindingsResponse{Bindings: make([]*pb.Binding, 0, len(list))}
	for _, b := range list {
		resp.Bindings = append(resp.Bindings, bindingPB(b))
	}
	return resp, nil
}

// bindings copies an instance's bindings, of one vhost unless vhost is "".
func (s *Service) bindings(inst, vhost string) []topology.Binding {
	var list []topology.Binding
	s.mirror.Read(inst, func(ix *route.Index) {
		ix.Exchanges(func(x topology.Exchange) {
			if vhost != "" && x.VHost != vhost {
				return
			}
			for _, b := range ix.BindingsFrom(x.VHost, x.Name) {
				list = append(list, b)
			}
		})
	})
	slices.SortFunc(list, func(a, b topology.Binding) int {
		return cmp.Or(cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Dest, b.Dest), cmp.Compare(a.DestKind, b.DestKind),
			cmp.Compare(a.Key, b.Key), cmp.Compare(PropertiesKey(a), PropertiesKey(b)))
	})
	return list
}

// DeleteBinding deletes the binding its ends and properties key name.
func (s *Service) DeleteBinding(ctx context.Context, req *pb.DeleteBindingRequest) (*emptypb.Empty, error) {
	kind, err := destKind(req.GetDestinationType())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	b, ok := s.findBinding(i.Name, req.GetVhost(), req.GetSource(), kind, req.GetDestination(), req.GetPropertiesKey())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no binding %q from %q to %s %q in vhost %q",
			req.GetPropertiesKey(), req.GetSource(), kind, req.GetDestination(), req.GetVhost())
	}
	if _, err := s.topo.Unbind(ctx, i.Name, b); err != nil {
		return nil, replyStatus(err)
	}
	return &emptypb.Empty{}, nil
}

func (s *Service) findBinding(inst, vhost, source string, kind topology.DestKind, dest, props string) (topology.Binding, bool) {
	var found topology.Binding
	var ok bool
	s.mirror.Read(inst, func(ix *route.Index) {
		for _, b := range ix.BindingsFrom(vhost, source) {
			if b.DestKind == kind && b.Dest == dest && PropertiesKey(b) == props {
				found, ok = b, true
			}
		}
	})
	return found, ok
}
