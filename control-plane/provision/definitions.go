package provision

import (
	"context"
	"encoding/json"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/definitions"
)

// ExportDefinitions writes the instance as RabbitMQ definitions JSON.
func (s *Service) ExportDefinitions(ctx context.Context, req *pb.ExportDefinitionsRequest) (*structpb.Struct, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(definitions.Export(s.snapshot(i.Name)))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding definitions: %v", err)
	}
	var out structpb.Struct
	if err := protojson.Unmarshal(b, &out); err != nil {
		return nil, status.Errorf(codes.Internal, "encoding definitions: %v", err)
	}
	return &out, nil
}

// snapshot is what RabbitMQ exports of an instance: not the exchanges
// every vhost has, not exclusive queues (they die with their connection).
func (s *Service) snapshot(inst string) *definitions.Model {
	m := &definitions.Model{Policies: s.policies(inst, ""), Bindings: s.bindings(inst, "")}
	s.mirror.ReadAccess(inst, func(a *topokv.Access) {
		a.Users(func(u topology.User) { m.Users = append(m.Users, u) })
		a.Permissions(func(p topology.Permission) { m.Permissions = append(m.Permissions, p) })
	})
	s.mirror.Read(inst, func(ix *route.Index) {
		ix.VHosts(func(v topology.VHost) { m.VHosts = append(m.VHosts, v) })
		ix.Exchanges(func(x topology.Exchange) {
			if !topology.IsSystemExchange(x.Name) {
				m.Exchanges = append(m.Exchanges, x)
			}
		})
	})
	for _, q := range s.queues(inst, "") {
		if !q.Exclusive {
			m.Queues = append(m.Queues, q)
		}
	}
	sortModel(m)
	return m
}

// ImportDefinitions merges a definitions file into the instance, as
// RabbitMQ's import does: what exists stays, users named in the file are
// replaced, everything else is created. The whole file is checked first
// — each entry, then against the instance (vhosts and users referred to,
// redeclares equivalent, binding ends, quotas) — so a refused import
// writes nothing. A storage failure during the writes can leave part of
// the file written; importing it again finishes it.
func (s *Service) ImportDefinitions(ctx context.Context, req *pb.ImportDefinitionsRequest) (*pb.ImportDefinitionsResponse, error) {
	raw, err := protojson.Marshal(req.GetDefinitions())
	if err != nil {
		return nil, invalid(err)
	}
	f, err := definitions.Decode(raw)
	if err != nil {
		return nil, invalid(err)
	}
	m, err := f.Model()
	if err != nil {
		return nil, invalid(err)
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if err := s.checkImport(i, m); err != nil {
		return nil, err
	}
	return s.writeImport(ctx, i.Name, m)
}
