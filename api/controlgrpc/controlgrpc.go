// Package controlgrpc carries the topology contract (api/control) over
// gRPC: Server exposes any control.Topology as the Topology service; Client
// is a control.Topology that calls one. Refusals travel in the results as
// *reply.Error; transport failures are gRPC errors.
package controlgrpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/control"
	pb "github.com/warrenmq/warren/api/controlpb"
	"github.com/warrenmq/warren/api/rpcerr"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
)

// Server exposes a control.Topology.
type Server struct {
	pb.UnimplementedTopologyServer
	t control.Topology
}

// NewServer serves t.
func NewServer(t control.Topology) *Server { return &Server{t: t} }

func result(r control.Result, err error) (*pb.Result, error) {
	return &pb.Result{Revision: r.Revision, Err: rpcerr.Encode(err)}, nil
}

func queueResult(r control.QueueResult, err error) (*pb.QueueResult, error) {
	q, cerr := toPBQueue(r.Queue)
	if cerr != nil && err == nil {
		err = cerr
	}
	return &pb.QueueResult{Queue: q, Revision: r.Revision, Messages: r.Messages, Consumers: r.Consumers, Err: rpcerr.Encode(err)}, nil
}

func (s *Server) DeclareExchange(ctx context.Context, r *pb.DeclareExchangeRequest) (*pb.Result, error) {
	x, err := fromPBExchange(r.GetExchange())
	if err != nil {
		return result(control.Result{}, err)
	}
	return result(s.t.DeclareExchange(ctx, r.GetInstance(), x))
}

func (s *Server) DeleteExchange(ctx context.Context, r *pb.DeleteExchangeRequest) (*pb.Result, error) {
	return result(s.t.DeleteExchange(ctx, r.GetInstance(), r.GetVhost(), r.GetName(), r.GetIfUnused()))
}

func (s *Server) DeclareQueue(ctx context.Context, r *pb.DeclareQueueRequest) (*pb.QueueResult, error) {
	q, err := fromPBQueue(r.GetQueue())
	if err != nil {
		return queueResult(control.QueueResult{}, err)
	}
	return queueResult(s.t.DeclareQueue(ctx, r.GetInstance(), r.GetConn(), q))
}

func (s *Server) DeleteQueue(ctx context.Context, r *pb.DeleteQueueRequest) (*pb.QueueResult, error) {
	return queueResult(s.t.DeleteQueue(ctx, r.GetInstance(), r.GetConn(), r.GetVhost(), r.GetName(), r.GetIfUnused(), r.GetIfEmpty()))
}

func (s *Server) Bind(ctx context.Context, r *pb.BindingRequest) (*pb.Result, error) {
	b, err := fromPBBinding(r.GetBinding())
	if err != nil {
		return result(control.Result{}, err)
	}
	return result(s.t.Bind(ctx, r.GetInstance(), b))
}

func (s *Server) Unbind(ctx context.Context, r *pb.BindingRequest) (*pb.Result, error) {
	b, err := fromPBBinding(r.GetBinding())
	if err != nil {
		return result(control.Result{}, err)
	}
	return result(s.t.Unbind(ctx, r.GetInstance(), b))
}

func (s *Server) ConnectionClosed(ctx context.Context, r *pb.ConnectionClosedRequest) (*pb.Result, error) {
	return result(control.Result{}, s.t.ConnectionClosed(ctx, r.GetInstance(), r.GetConn()))
}

// Client is a control.Topology reached over gRPC.
type Client struct {
	c pb.TopologyClient
}

var _ control.Topology = (*Client)(nil)

// NewClient calls the Topology service on cc.
func NewClient(cc grpc.ClientConnInterface) *Client { return &Client{c: pb.NewTopologyClient(cc)} }

func fromResult(r *pb.Result, err error) (control.Result, error) {
	if err != nil {
		return control.Result{}, fmt.Errorf("control plane: %w", err)
	}
	return control.Result{Revision: r.GetRevision()}, rpcerr.Decode(r.GetErr())
}

func fromQueueResult(r *pb.QueueResult, err error) (control.QueueResult, error) {
	if err != nil {
		return control.QueueResult{}, fmt.Errorf("control plane: %w", err)
	}
	if e := rpcerr.Decode(r.GetErr()); e != nil {
		return control.QueueResult{}, e
	}
	q, err := fromPBQueue(r.GetQueue())
	return control.QueueResult{Queue: q, Revision: r.GetRevision(), Messages: r.GetMessages(), Consumers: r.GetConsumers()}, err
}

func (c *Client) DeclareExchange(ctx context.Context, inst string, x topology.Exchange) (control.Result, error) {
	px, err := toPBExchange(x)
	if err != nil {
		return control.Result{}, err
	}
	return fromResult(c.c.DeclareExchange(ctx, &pb.DeclareExchangeRequest{Instance: inst, Exchange: px}))
}

func (c *Client) DeleteExchange(ctx context.Context, inst, vhost, name string, ifUnused bool) (control.Result, error) {
	return fromResult(c.c.DeleteExchange(ctx, &pb.DeleteExchangeRequest{Instance: inst, Vhost: vhost, Name: name, IfUnused: ifUnused}))
}

func (c *Client) DeclareQueue(ctx context.Context, inst, conn string, q topology.Queue) (control.QueueResult, error) {
	pq, err := toPBQueue(q)
	if err != nil {
		return control.QueueResult{}, err
	}
	return fromQueueResult(c.c.DeclareQueue(ctx, &pb.DeclareQueueRequest{Instance: inst, Conn: conn, Queue: pq}))
}

func (c *Client) DeleteQueue(ctx context.Context, inst, conn, vhost, name string, ifUnused, ifEmpty bool) (control.QueueResult, error) {
	return fromQueueResult(c.c.DeleteQueue(ctx, &pb.DeleteQueueRequest{
		Instance: inst, Conn: conn, Vhost: vhost, Name: name, IfUnused: ifUnused, IfEmpty: ifEmpty,
	}))
}

func (c *Client) Bind(ctx context.Context, inst string, b topology.Binding) (control.Result, error) {
	pb2, err := toPBBinding(b)
	if err != nil {
		return control.Result{}, err
	}
	return fromResult(c.c.Bind(ctx, &pb.BindingRequest{Instance: inst, Binding: pb2}))
}

func (c *Client) Unbind(ctx context.Context, inst string, b topology.Binding) (control.Result, error) {
	pb2, err := toPBBinding(b)
	if err != nil {
		return control.Result{}, err
	}
	return fromResult(c.c.Unbind(ctx, &pb.BindingRequest{Instance: inst, Binding: pb2}))
}

func (c *Client) ConnectionClosed(ctx context.Context, inst, conn string) error {
	_, err := fromResult(c.c.ConnectionClosed(ctx, &pb.ConnectionClosedRequest{Instance: inst, Conn: conn}))
	return err
}

// Arguments travel as AMQP-encoded tables (amqp.MarshalTable), so their
// types survive.

func toPBExchange(x topology.Exchange) (*pb.Exchange, error) {
	args, err := amqp.MarshalTable(x.Args)
	return &pb.Exchange{Vhost: x.VHost, Name: x.Name, Type: x.Type, Durable: x.Durable,
		AutoDelete: x.AutoDelete, Internal: x.Internal, Args: args}, err
}

func fromPBExchange(x *pb.Exchange) (topology.Exchange, error) {
	args, err := amqp.UnmarshalTable(x.GetArgs())
	return topology.Exchange{VHost: x.GetVhost(), Name: x.GetName(), Type: x.GetType(), Durable: x.GetDurable(),
		AutoDelete: x.GetAutoDelete(), Internal: x.GetInternal(), Args: args}, err
}

func toPBQueue(q topology.Queue) (*pb.Queue, error) {
	args, err := amqp.MarshalTable(q.Args)
	return &pb.Queue{Vhost: q.VHost, Name: q.Name, Id: uint64(q.ID), Durable: q.Durable, Exclusive: q.Exclusive,
		AutoDelete: q.AutoDelete, Owner: q.Owner, Args: args, Node: q.Node}, err
}

func fromPBQueue(q *pb.Queue) (topology.Queue, error) {
	args, err := amqp.UnmarshalTable(q.GetArgs())
	return topology.Queue{VHost: q.GetVhost(), Name: q.GetName(), ID: storage.QueueID(q.GetId()), Durable: q.GetDurable(),
		Exclusive: q.GetExclusive(), AutoDelete: q.GetAutoDelete(), Owner: q.GetOwner(), Args: args, Node: q.GetNode()}, err
}

func toPBBinding(b topology.Binding) (*pb.Binding, error) {
	args, err := amqp.MarshalTable(b.Args)
	return &pb.Binding{Vhost: b.VHost, Source: b.Source, DestKind: string(b.DestKind), Dest: b.Dest, Key: b.Key, Args: args}, err
}

func fromPBBinding(b *pb.Binding) (topology.Binding, error) {
	args, err := amqp.UnmarshalTable(b.GetArgs())
	return topology.Binding{VHost: b.GetVhost(), Source: b.GetSource(), DestKind: topology.DestKind(b.GetDestKind()),
		Dest: b.GetDest(), Key: b.GetKey(), Args: args}, err
}
