package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/registry"
)

// syncSubject is where a gateway that made a topology change asks every
// gateway and storage node (each routes with its own mirror: publishes,
// dead letters) to confirm it holds the change's KV revision.
const syncSubject = "warren.topology.sync"

// syncBound caps how long a declare-ok waits for the others: one that
// does not confirm in time (stuck, or dead but still in the registry) only
// delays the client by this much; its watch catches up on its own.
const syncBound = time.Second

// countCacheFor is how long a count of the registry's members is reused.
const countCacheFor = time.Second

// TopologySync makes a topology change visible on every gateway and storage
// node before the client hears declare-ok, as RabbitMQ's synchronous
// topology writes are: a binding made through one gateway routes a publish
// made through another, or a dead letter, right after bind-ok, not merely
// soon after.
type TopologySync struct {
	nc    *nats.Conn
	sub   *nats.Subscription
	held  func(ctx context.Context, rev uint64) error // returns nil once this process holds rev
	regKV jetstream.KeyValue
	log   *slog.Logger
	mu    struct {
		sync.Mutex
		members int
		counted time.Time
	}
}

// NewTopologySync answers sync requests with c's mirror; Close stops it.
func NewTopologySync(c *Conn, log *slog.Logger) (*TopologySync, error) {
	return NewTopologySyncHeld(c, c.Mirror.WaitFor, log)
}

// NewTopologySyncHeld answers a sync request for a revision once held
// returns nil for it: a storage node confirms a revision once its queues
// run with the policies as of it, not merely once its mirror has it, so
// that a queue declared under a policy has it by declare-ok.
func NewTopologySyncHeld(c *Conn, held func(ctx context.Context, rev uint64) error, log *slog.Logger) (*TopologySync, error) {
	s := &TopologySync{nc: c.NATS, held: held, regKV: c.Registry, log: log}
	sub, err := s.serve()
	if err != nil {
		return nil, fmt.Errorf("topology sync: %w", err)
	}
	s.sub = sub
	return s, nil
}

// Close stops answering sync requests.
func (s *TopologySync) Close() { _ = s.sub.Unsubscribe() }

// serve answers other gateways' sync requests once this process holds
// the asked revision (or after syncBound, unanswered).
func (s *TopologySync) serve() (*nats.Subscription, error) {
	return s.nc.Subscribe(syncSubject, func(m *nats.Msg) {
		if len(m.Data) != 8 || m.Reply == "" {
			return
		}
		rev := binary.BigEndian.Uint64(m.Data)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), syncBound)
			defer cancel()
			if s.held(ctx, rev) == nil {
				_ = m.Respond(nil)
			}
		}()
	})
}

// Await waits until every live gateway and storage node (this process
// included) holds rev, or syncBound passes.
func (s *TopologySync) Await(ctx context.Context, rev uint64) {
	ctx, cancel := context.WithTimeout(ctx, syncBound)
	defer cancel()
	want := s.liveMembers(ctx)
	if want == 0 {
		return
	}
	inbox := s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return
	}
	defer func() { _ = sub.Unsubscribe() }()
	var data [8]byte
	binary.BigEndian.PutUint64(data[:], rev)
	if err := s.nc.PublishRequest(syncSubject, inbox, data[:]); err != nil {
		return
	}
	for got := 0; got < want; got++ {
		if _, err := sub.NextMsgWithContext(ctx); err != nil {
			s.log.Debug("topology sync: not every gateway confirmed", "revision", rev, "confirmed", got, "members", want)
			return
		}
	}
}

// liveMembers counts the registered gateways and storage nodes, from a
// count at most countCacheFor old.
func (s *TopologySync) liveMembers(ctx context.Context) int {
	s.mu.Lock()
	members, fresh := s.mu.members, time.Since(s.mu.counted) < countCacheFor
	s.mu.Unlock()
	if fresh {
		return members
	}
	n := 0 // read without the lock: concurrent declares need not queue behind NATS
	for _, kind := range []string{registry.Gateway, registry.StorageNode} {
		es, err := registry.List(ctx, s.regKV, kind)
		if err != nil {
			return members // NATS trouble: the last count, and Await ends at its bound
		}
		n += len(es)
	}
	s.mu.Lock()
	s.mu.members, s.mu.counted = n, time.Now()
	s.mu.Unlock()
	return n
}
