package provision

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/apiauth"
)

func (s *Service) instancePB(i topology.Instance) *pb.Instance {
	st := pb.Instance_ACTIVE
	if i.Status == topology.Deleting {
		st = pb.Instance_DELETING
	}
	return &pb.Instance{Name: i.Name, Quotas: quotasPB(i.Quotas), Status: st,
		Endpoint: s.opts.Endpoint, CreateTime: timestamppb.New(i.Created)}
}

// quotasPB sets every field: responses show every quota.
func quotasPB(q topology.Quotas) *pb.Quotas {
	return &pb.Quotas{
		MaxConnections:           proto.Uint32(q.MaxConnections),
		MaxChannelsPerConnection: proto.Uint32(q.MaxChannelsPerConnection),
		MaxQueues:                proto.Uint32(q.MaxQueues),
		MaxExchanges:             proto.Uint32(q.MaxExchanges),
		MaxVhosts:                proto.Uint32(q.MaxVHosts),
		MaxPublishRate:           proto.Uint32(q.MaxPublishRate),
		MaxMessageSize:           proto.Uint32(q.MaxMessageSize),
		MaxStoredBytes:           proto.Uint64(q.MaxStoredBytes),
	}
}

// applyQuotas sets the quotas present in p.
func applyQuotas(q *topology.Quotas, p *pb.Quotas) {
	set := func(dst *uint32, src *uint32) {
		if src != nil {
			*dst = *src
		}
	}
	set(&q.MaxConnections, p.MaxConnections)
	set(&q.MaxChannelsPerConnection, p.MaxChannelsPerConnection)
	set(&q.MaxQueues, p.MaxQueues)
	set(&q.MaxExchanges, p.MaxExchanges)
	set(&q.MaxVHosts, p.MaxVhosts)
	set(&q.MaxPublishRate, p.MaxPublishRate)
	set(&q.MaxMessageSize, p.MaxMessageSize)
	if p.MaxStoredBytes != nil {
		q.MaxStoredBytes = *p.MaxStoredBytes
	}
}

func vhostPB(v topology.VHost) *pb.VHost {
	return &pb.VHost{Name: v.Name, Description: v.Description, Tags: v.Tags}
}

func userPB(u topology.User) *pb.User {
	return &pb.User{Name: u.Name, PasswordHash: u.PasswordHash, HashingAlgorithm: u.HashingAlgorithm, Tags: u.Tags}
}

func permissionPB(p topology.Permission) *pb.Permission {
	return &pb.Permission{Vhost: p.VHost, User: p.User, Configure: p.Configure, Write: p.Write, Read: p.Read}
}

func tokenPB(t apiauth.Token) *pb.Token {
	return &pb.Token{Id: t.ID, Instance: t.Instance, Description: t.Description, CreateTime: timestamppb.New(t.Created)}
}
