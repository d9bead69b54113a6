package registry

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/storagegrpc"
)

// lookupTimeout bounds a registry read.
const lookupTimeout = 5 * time.Second

// Nodes resolves storage node names to storage.Node: a node of this process
// directly (SetLocal), the others through gRPC clients made from their
// registry entries and kept for reuse. Safe for concurrent use.
type Nodes struct {
	kv jetstream.KeyValue
	mu struct {
		sync.Mutex
		local   map[string]storage.Node
		clients map[string]*remote
	}
}

type remote struct {
	addr string
	cc   *grpc.ClientConn
	node storage.Node
}

// NewNodes resolves through the registry in kv.
func NewNodes(kv jetstream.KeyValue) *Nodes {
	n := &Nodes{kv: kv}
	n.mu.local = map[string]storage.Node{}
	n.mu.clients = map[string]*remote{}
	return n
}

// SetLocal makes name resolve to a node in this process.
func (n *Nodes) SetLocal(name string, node storage.Node) {
	n.mu.Lock()
	n.mu.local[name] = node
	n.mu.Unlock()
}

// Node returns the named storage node if it is local or registered alive.
func (n *Nodes) Node(name string) (storage.Node, bool) {
	n.mu.Lock()
	local, ok := n.mu.local[name]
	n.mu.Unlock()
	if ok {
		return local, true
	}
	entries, err := n.alive()
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		if e.Name == name {
			return n.client(name, e.Addr)
		}
	}
	return nil, false
}

// Names lists the storage nodes alive now, local ones included, sorted.
func (n *Nodes) Names() []string {
	seen := map[string]bool{}
	n.mu.Lock()
	for name := range n.mu.local {
		seen[name] = true
	}
	n.mu.Unlock()
	if entries, err := n.alive(); err == nil {
		for _, e := range entries {
			seen[e.Name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (n *Nodes) alive() ([]Entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return List(ctx, n.kv, StorageNode)
}

// client returns a cached client for the node, replacing it when the node
// came back on another address.
func (n *Nodes) client(name, addr string) (storage.Node, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.mu.clients[name]; ok && c.addr == addr {
		return c.node, true
	} else if ok {
		_ = c.cc.Close()
	}
	opts := append(storagegrpc.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, false
	}
	c := &remote{addr: addr, cc: cc, node: storagegrpc.NewClient(cc)}
	n.mu.clients[name] = c
	return c.node, true
}

// Close closes the gRPC clients.
func (n *Nodes) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, c := range n.mu.clients {
		_ = c.cc.Close()
		delete(n.mu.clients, name)
	}
}
