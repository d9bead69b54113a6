package storagenode

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/storagegrpc"
)

// lookupTimeout bounds a registry read when a dead letter goes to another node.
const lookupTimeout = 5 * time.Second

// peers resolves storage node names to nodes: this process's own node
// directly, the others through gRPC clients made from their registry
// entries and kept for reuse.
type peers struct {
	kv   jetstream.KeyValue
	self string
	mu   struct {
		sync.Mutex
		local   storage.Node
		clients map[string]*peer
	}
}

type peer struct {
	addr string
	cc   *grpc.ClientConn
	node storage.Node
}

func newPeers(kv jetstream.KeyValue, self string) *peers {
	p := &peers{kv: kv, self: self}
	p.mu.clients = map[string]*peer{}
	return p
}

func (p *peers) setLocal(n storage.Node) {
	p.mu.Lock()
	p.mu.local = n
	p.mu.Unlock()
}

// node returns the named storage node, if it is this one or registered.
func (p *peers) node(name string) (storage.Node, bool) {
	p.mu.Lock()
	if name == p.self && p.mu.local != nil {
		defer p.mu.Unlock()
		return p.mu.local, true
	}
	p.mu.Unlock()
	addr, ok := p.lookup(name)
	if !ok {
		return nil, false
	}
	return p.client(name, addr)
}

func (p *peers) lookup(name string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	entries, err := registry.List(ctx, p.kv, registry.StorageNode)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if e.Name == name {
			return e.Addr, true
		}
	}
	return "", false
}

// client returns a cached client for the node, replacing it when the node
// came back on another address.
func (p *peers) client(name, addr string) (storage.Node, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.mu.clients[name]; ok && c.addr == addr {
		return c.node, true
	} else if ok {
		_ = c.cc.Close()
	}
	opts := append(storagegrpc.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, false
	}
	c := &peer{addr: addr, cc: cc, node: storagegrpc.NewClient(cc)}
	p.mu.clients[name] = c
	return c.node, true
}

func (p *peers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.mu.clients {
		_ = c.cc.Close()
	}
}
