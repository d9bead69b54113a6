package provision

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/warrenmq/warren/api/amqp"
	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/topo"
)

// argsFromPB converts request arguments to a field table (whole numbers
// become longs, as RabbitMQ's HTTP API makes them).
func argsFromPB(s *structpb.Struct) (amqp.Table, error) {
	t, err := amqp.TableFromJSON(s.AsMap())
	if err != nil {
		return nil, invalid(err)
	}
	return t, nil
}

// argsPB converts a field table for a response; a value structpb cannot
// hold is left out rather than failing the whole listing.
func argsPB(t amqp.Table) *structpb.Struct {
	s, err := structpb.NewStruct(amqp.TableToJSON(t))
	if err != nil {
		return &structpb.Struct{}
	}
	return s
}

func exchangePB(x topology.Exchange) *pb.Exchange {
	return &pb.Exchange{Vhost: x.VHost, Name: x.Name, Type: x.Type, Durable: x.Durable,
		AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: argsPB(x.Args)}
}

func queuePB(q *topology.Queue, st *storage.QueueStats) *pb.Queue {
	out := &pb.Queue{Vhost: q.VHost, Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete,
		Exclusive: q.Exclusive, Arguments: argsPB(q.Args), Node: q.Node}
	if st != nil {
		out.Stats = queueStatsPB(st)
	}
	return out
}

func queueStatsPB(st *storage.QueueStats) *pb.QueueStats {
	c, r := &st.Counts, &st.Rates
	return &pb.QueueStats{MessagesReady: st.Ready, MessagesUnacknowledged: st.Unacked,
		Consumers: st.Consumers, MessageBytesReady: st.ReadyBytes, HotBytes: st.HotBytes, ColdBytes: st.ColdBytes,
		Publish: c.Publish, Deliver: c.Deliver, DeliverNoAck: c.DeliverNoAck, Get: c.Get, GetNoAck: c.GetNoAck,
		GetEmpty: c.GetEmpty, Redeliver: c.Redeliver, Ack: c.Ack,
		PublishRate: r.Publish, DeliverRate: r.Deliver, DeliverNoAckRate: r.DeliverNoAck, GetRate: r.Get,
		GetNoAckRate: r.GetNoAck, GetEmptyRate: r.GetEmpty, RedeliverRate: r.Redeliver, AckRate: r.Ack}
}

func bindingPB(b topology.Binding) *pb.Binding {
	return &pb.Binding{Vhost: b.VHost, Source: b.Source, Destination: b.Dest,
		DestinationType: string(b.DestKind), RoutingKey: b.Key, Arguments: argsPB(b.Args),
		PropertiesKey: PropertiesKey(b)}
}

// PropertiesKey names a binding among those with the same ends, in the
// form of RabbitMQ's HTTP API: the routing key ("~" when empty), then "~"
// and a hash of the arguments when there are any. The hash is Warren's
// own (RabbitMQ's is erlang:phash2), so a key is only meaningful to the
// server that listed it — which is how clients use it.
func PropertiesKey(b topology.Binding) string {
	key := url.PathEscape(b.Key)
	if len(b.Args) == 0 {
		if key == "" {
			return "~"
		}
		return key
	}
	id, err := topokv.BindingID(b)
	if err != nil {
		return key + "~"
	}
	sum := sha256.Sum256([]byte(id))
	return key + "~" + base64.RawURLEncoding.EncodeToString(sum[:4])
}

// destKind parses a destination type; RabbitMQ's HTTP API also writes
// them as "q" and "e" in binding paths.
func destKind(s string) (topology.DestKind, error) {
	switch strings.ToLower(s) {
	case "queue", "q":
		return topology.ToQueue, nil
	case "exchange", "e":
		return topology.ToExchange, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "destination_type %q: use queue or exchange", s)
}

func policyPB(p topology.Policy) *pb.Policy {
	def, err := structpb.NewStruct(p.Definition)
	if err != nil {
		def = &structpb.Struct{}
	}
	return &pb.Policy{Vhost: p.VHost, Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo,
		Priority: int32(p.Priority), Definition: def}
}

// replyStatus maps the topology service's AMQP refusals to API codes,
// keeping RabbitMQ's text; other failures are the storage's.
func replyStatus(err error) error {
	var re *reply.Error
	if !errors.As(err, &re) {
		return storageError(err)
	}
	code := codes.FailedPrecondition
	switch {
	case errors.Is(err, topo.ErrQuota):
		code = codes.ResourceExhausted
	case re.Code == reply.NotFound:
		code = codes.NotFound
	case re.Code == reply.AccessRefused, re.Code == reply.CommandInvalid, re.Code == reply.InvalidPath, re.Code == reply.SyntaxError:
		code = codes.InvalidArgument
	case re.Code == reply.InternalError:
		code = codes.Unavailable
	}
	return status.Error(code, re.Text)
}

// replyText is an AMQP refusal's text without its code name.
func replyText(err error) string {
	var re *reply.Error
	if errors.As(err, &re) {
		return re.Text
	}
	return err.Error()
}
