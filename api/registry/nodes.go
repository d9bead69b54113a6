package registry

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/storagegrpc"
)

// lookupTimeout bounds a registry read.
const lookupTimeout = 5 * time.Second

// cacheFor is how long a read of the registry serves lookups: resolving a
// node happens on every append batch, which must not cost a KV round trip.
// A name not in the cache triggers a fresh read sooner (missRefresh).
const (
	cacheFor    = time.Second
	missRefresh = 100 * time.Millisecond
)

// Nodes resolves storage node names to storage.Node: a node of this process
// directly (SetLocal), the others through gRPC clients made from their
// registry entries and kept for reuse. Safe for concurrent use.
type Nodes struct {
	kv jetstream.KeyValue
	mu struct {
		sync.Mutex
		local   map[string]storage.Node
		clients map[string]*remote
		entries []Entry   // alive storage nodes at the last good read
		fetched time.Time // when the read of entries began; zero before the first read
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
	if addr, ok := n.addrOf(name, cacheFor); ok {
		return n.client(name, addr)
	}
	if addr, ok := n.addrOf(name, missRefresh); ok { // a node that just registered
		return n.client(name, addr)
	}
	return n.connected(name)
}

// connected returns the cached client of a node the registry does not show
// alive, if its connection is up: a live connection outweighs a heartbeat
// that aged while NATS was away (a control plane restart). A node that is
// really gone has no ready connection, so it still resolves to nothing.
func (n *Nodes) connected(name string) (storage.Node, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.mu.clients[name]; ok && c.cc.GetState() == connectivity.Ready {
		return c.node, true
	}
	return nil, false
}

// addrOf finds a node's address in registry entries at most maxAge old.
func (n *Nodes) addrOf(name string, maxAge time.Duration) (string, bool) {
	for _, e := range n.alive(maxAge) {
		if e.Name == name {
			return e.Addr, true
		}
	}
	return "", false
}

// Names lists the storage nodes alive now, local ones included, sorted.
func (n *Nodes) Names() []string {
	seen := map[string]bool{}
	n.mu.Lock()
	for name := range n.mu.local {
		seen[name] = true
	}
	n.mu.Unlock()
	for _, e := range n.alive(cacheFor) {
		seen[e.Name] = true
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Bytes is what a storage node reported holding at its last heartbeat; 0
// for local nodes and unknown ones.
func (n *Nodes) Bytes(name string) uint64 {
	for _, e := range n.alive(cacheFor) {
		if e.Name == name {
			return e.Bytes
		}
	}
	return 0
}

// Alive returns the storage nodes that were alive at the returned time, a
// registry read at most a second old (older while the registry cannot be
// read). The caller must not modify the entries.
func (n *Nodes) Alive() ([]Entry, time.Time) {
	return n.read(cacheFor)
}

// alive returns the alive storage nodes, read from the registry unless the
// last read is younger than maxAge. When the registry cannot be read (NATS
// down), the last good read keeps serving, so traffic to known nodes goes on.
func (n *Nodes) alive(maxAge time.Duration) []Entry {
	entries, _ := n.read(maxAge)
	return entries
}

// read is alive with the time of the read it returns.
func (n *Nodes) read(maxAge time.Duration) ([]Entry, time.Time) {
	n.mu.Lock()
	if !n.mu.fetched.IsZero() && time.Since(n.mu.fetched) < maxAge {
		defer n.mu.Unlock()
		return n.mu.entries, n.mu.fetched
	}
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	start := time.Now() // what the read shows is at least this recent
	entries, err := List(ctx, n.kv, StorageNode)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err == nil {
		n.mu.entries, n.mu.fetched = entries, start
	}
	return n.mu.entries, n.mu.fetched
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
	opts := append(storagegrpc.DialOptions(), storagegrpc.KeepaliveDialOptions()...)
	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
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
