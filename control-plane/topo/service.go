// Package topo is the control plane's topology service: it validates
// declarations, places queues on storage nodes, and writes the topology to
// NATS KV, where every gateway's mirror picks it up.
package topo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// Service implements control.Topology over a KV bucket.
//
// Concurrency: writes are serialized by mu, so a check against the mirror
// and the write that follows it cannot interleave with another change made
// through this service. KV compare-and-set still guards every write.
type Service struct {
	kv     jetstream.KeyValue
	mirror *topokv.Mirror
	nodes  NodeSet
	log    *slog.Logger
	mu     sync.Mutex
}

var _ control.Topology = (*Service)(nil)

// NodeSet is where queues can be placed: the storage nodes up now, by name
// (registry.Nodes in the split deployment, StaticNodes in warren serve).
type NodeSet interface {
	Names() []string
	Node(name string) (storage.Node, bool)
	// Bytes is what the node holds, for placement; 0 when unknown.
	Bytes(name string) uint64
}

// StaticNodes is a fixed NodeSet.
type StaticNodes map[string]storage.Node

// Bytes is unknown for a fixed set: placement goes by queue count.
func (s StaticNodes) Bytes(string) uint64 { return 0 }

// Names lists the nodes, sorted.
func (s StaticNodes) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Node looks a node up.
func (s StaticNodes) Node(name string) (storage.Node, bool) {
	n, ok := s[name]
	return n, ok
}

// New returns a topology service writing to kv, reading through mirror, and
// placing queues on nodes.
func New(kv jetstream.KeyValue, mirror *topokv.Mirror, nodes NodeSet, log *slog.Logger) *Service {
	if nodes == nil {
		nodes = StaticNodes{}
	}
	return &Service{kv: kv, mirror: mirror, nodes: nodes, log: log}
}

// read runs fn on the instance's index.
func (s *Service) read(inst string, fn func(ix *route.Index)) { s.mirror.Read(inst, fn) }

// settle waits until the mirror has applied rev, so that the checks of the
// next change see this one.
func (s *Service) settle(ctx context.Context, rev uint64) error {
	return s.mirror.WaitFor(ctx, rev)
}

// deleteKeys deletes keys and returns the revision that covers them.
func (s *Service) deleteKeys(ctx context.Context, keys []string) (uint64, error) {
	for _, k := range keys {
		if err := s.kv.Delete(ctx, k); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return 0, fmt.Errorf("delete %s: %w", k, err)
		}
	}
	rev, err := topokv.LastRevision(ctx, s.kv)
	if err != nil {
		return 0, err
	}
	return rev, s.settle(ctx, rev)
}

// placeQueue picks the storage node with the smallest share of the
// queues plus share of the bytes, by name order on ties: queue count
// spreads consumers' work, bytes spread disk.
func (s *Service) placeQueue(inst string) (string, storage.Node, error) {
	names := s.nodes.Names()
	if len(names) == 0 {
		return "", nil, errors.New("no storage node available")
	}
	counts := map[string]int{}
	s.read(inst, func(ix *route.Index) {
		ix.Queues(func(q *topology.Queue) { counts[q.Node]++ })
	})
	best := leastLoaded(names, counts, s.nodes.Bytes)
	node, ok := s.nodes.Node(best)
	if !ok {
		return "", nil, fmt.Errorf("storage node %q went away", best)
	}
	return best, node, nil
}

// bytesFloor damps the bytes term while the cluster holds little: a few
// MiB of WAL and compaction noise must not outweigh queue counts.
const bytesFloor = 1 << 30

// leastLoaded scores each node by its fraction of all queues plus its
// fraction of all bytes (of at least bytesFloor) and returns the lowest,
// the first on ties.
func leastLoaded(names []string, queues map[string]int, bytesOf func(string) uint64) string {
	var totalQ, totalB float64
	bytes := make([]float64, len(names))
	for i, n := range names {
		bytes[i] = float64(bytesOf(n))
		totalQ += float64(queues[n])
		totalB += bytes[i]
	}
	best, bestScore := names[0], 0.0
	for i, n := range names {
		score := float64(queues[n])/(totalQ+1) + bytes[i]/max(totalB, bytesFloor)
		if i == 0 || score < bestScore {
			best, bestScore = n, score
		}
	}
	return best
}

// node returns the storage node that owns a queue.
func (s *Service) node(q *topology.Queue) (storage.Node, error) {
	n, ok := s.nodes.Node(q.Node)
	if !ok {
		return nil, fmt.Errorf("queue %s: storage node %q unknown", q.Name, q.Node)
	}
	return n, nil
}

// newQueueID draws a random non-zero ID; collisions across 2^64 are not a
// practical concern, and KV create of the queue name still guards the name.
func newQueueID() storage.QueueID {
	for {
		if id := storage.QueueID(rand.Uint64()); id != 0 {
			return id
		}
	}
}
