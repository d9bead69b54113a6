package provision

import (
	"cmp"
	"context"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
)

// statsTimeout bounds the wait for one storage node's counts: a listing
// shows a queue whose node is slow without stats rather than hanging.
const statsTimeout = 2 * time.Second

// CreateQueue declares a queue through the topology service, as a
// gateway's queue.declare does; the API cannot declare exclusive queues,
// which belong to a connection.
func (s *Service) CreateQueue(ctx context.Context, req *pb.CreateQueueRequest) (*pb.Queue, error) {
	q := topology.Queue{VHost: req.GetVhost(), Name: req.GetName(),
		Durable: req.Durable == nil || *req.Durable, AutoDelete: req.GetAutoDelete()}
	args, err := argsFromPB(req.GetArguments())
	if err != nil {
		return nil, err
	}
	q.Args = args
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if err := s.checkQueue(i, q); err != nil {
		return nil, err
	}
	res, err := s.topo.DeclareQueue(ctx, i.Name, "", q)
	if err != nil {
		return nil, replyStatus(err)
	}
	st := &storage.QueueStats{Ready: res.Messages, Consumers: res.Consumers}
	return queuePB(&res.Queue, st), nil
}

// checkQueue makes the checks a gateway makes before a declare, the
// arguments' included (so a bad one is 400 before any node is asked); the
// topology service checks the instance's quota.
func (s *Service) checkQueue(i topology.Instance, q topology.Queue) error {
	if err := checkDeclaredName("queue", q.VHost, q.Name); err != nil {
		return err
	}
	if _, err := q.QueueSpec(); err != nil {
		return status.Error(codes.InvalidArgument, replyText(err))
	}
	_, err := s.vhost(i.Name, q.VHost)
	return err
}

// ListQueues lists queues by vhost, then name, each with its node's counts.
func (s *Service) ListQueues(ctx context.Context, req *pb.ListQueuesRequest) (*pb.ListQueuesResponse, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if req.GetVhost() != "" {
		if _, err := s.vhost(i.Name, req.GetVhost()); err != nil {
			return nil, err
		}
	}
	list := s.queues(i.Name, req.GetVhost())
	resp := &pb.ListQueuesResponse{Queues: make([]*pb.Queue, 0, len(list))}
	for _, q := range list {
		resp.Queues = append(resp.Queues, queuePB(&q, s.stats(ctx, &q)))
	}
	return resp, nil
}

// queues copies an instance's queues, of one vhost unless vhost is "".
func (s *Service) queues(inst, vhost string) []topology.Queue {
	var list []topology.Queue
	s.mirror.Read(inst, func(ix *route.Index) {
		ix.Queues(func(q *topology.Queue) {
			if vhost == "" || q.VHost == vhost {
				list = append(list, *q)
			}
		})
	})
	slices.SortFunc(list, func(a, b topology.Queue) int {
		return cmp.Or(cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.Name, b.Name))
	})
	return list
}

// stats asks the queue's node for its counts; nil when it does not answer.
func (s *Service) stats(ctx context.Context, q *topology.Queue) *storage.QueueStats {
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	st, err := s.topo.QueueStats(ctx, q)
	if err != nil {
		s.log.Debug("queue stats", "queue", q.Name, "node", q.Node, "err", err)
		return nil
	}
	return &st
}

// GetQueue returns one queue with its counts.
func (s *Service) GetQueue(ctx context.Context, req *pb.GetQueueRequest) (*pb.Queue, error) {
	i, err := s.instance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	q, err := s.queue(i.Name, req.GetVhost(), req.GetName())
	if err != nil {
		return nil, err
	}
	return queuePB(&q, s.stats(ctx, &q)), nil
}

func (s *Service) queue(inst, vhost, name string) (topology.Queue, error) {
	var q *topology.Queue
	s.mirror.Read(inst, func(ix *route.Index) {
		if found, ok := ix.Queue(vhost, name); ok {
			c := *found
			q = &c
		}
	})
	if q == nil {
		return topology.Queue{}, status.Errorf(codes.NotFound, "queue %q in vhost %q not found", name, vhost)
	}
	return *q, nil
}

// DeleteQueue deletes a queue with its messages and bindings, as the
// system would (an exclusive queue too: the admin may).
func (s *Service) DeleteQueue(ctx context.Context, req *pb.DeleteQueueRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	if _, err := s.queue(i.Name, req.GetVhost(), req.GetName()); err != nil {
		return nil, err
	}
	_, err = s.topo.DeleteQueue(ctx, i.Name, "", req.GetVhost(), req.GetName(), req.GetIfUnused(), req.GetIfEmpty())
	if err != nil {
		return nil, replyStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// PurgeQueue removes a queue's ready messages, as queue.purge does.
func (s *Service) PurgeQueue(ctx context.Context, req *pb.PurgeQueueRequest) (*pb.PurgeQueueResponse, error) {
	i, err := s.activeInstance(ctx, req.GetInstance())
	if err != nil {
		return nil, err
	}
	n, err := s.topo.PurgeQueue(ctx, i.Name, req.GetVhost(), req.GetName())
	if err != nil {
		return nil, replyStatus(err)
	}
	return &pb.PurgeQueueResponse{MessageCount: n}, nil
}
