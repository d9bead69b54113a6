package topo

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/controlgrpc"
	"github.com/warrenmq/warren/api/controlpb"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
)

const inst = "test"

// newService runs the service on a real embedded JetStream server.
func newService(t *testing.T) (*Service, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	_, js := natstest.JetStream(t)
	kv, m := natstest.Topology(ctx, t, js)
	s := New(kv, m, nil, slog.Default())
	if err := s.EnsureVHost(ctx, inst, "/"); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// both runs a test against the service called directly and through its gRPC
// adapters on a loopback connection: the control contract must not change
// across the wire. Reads go to the service's mirror either way.
func both(t *testing.T, fn func(t *testing.T, ctx context.Context, s *Service, tp control.Topology)) {
	t.Run("in-process", func(t *testing.T) {
		s, ctx := newService(t)
		fn(t, ctx, s, s)
	})
	t.Run("grpc", func(t *testing.T) {
		s, ctx := newService(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		controlpb.RegisterTopologyServer(srv, controlgrpc.NewServer(s))
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(srv.Stop)
		cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cc.Close() })
		fn(t, ctx, s, controlgrpc.NewClient(cc))
	})
}

func code(err error) uint16 {
	var re *reply.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

func (s *Service) exchangeExists(name string) bool {
	ok := false
	s.read(inst, func(ix *route.Index) { _, ok = ix.Exchange("/", name) })
	return ok
}

func TestExchangeDeclareAndRedeclare(t *testing.T) { both(t, testExchangeDeclareAndRedeclare) }

func testExchangeDeclareAndRedeclare(t *testing.T, ctx context.Context, s *Service, tp control.Topology) {
	if !s.exchangeExists("amq.topic") || !s.exchangeExists("") {
		t.Fatal("system exchanges missing after EnsureVHost")
	}
	x := topology.Exchange{VHost: "/", Name: "logs", Type: topology.Fanout, Durable: true}
	if _, err := tp.DeclareExchange(ctx, inst, x); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.DeclareExchange(ctx, inst, x); err != nil {
		t.Fatalf("equivalent redeclare: %v", err)
	}
	y := x
	y.Type = topology.Direct
	if _, err := tp.DeclareExchange(ctx, inst, y); code(err) != reply.PreconditionFailed {
		t.Fatalf("inequivalent redeclare: %v, want 406", err)
	}
	z := x
	z.Name, z.Type = "bad", "no-such-type"
	if _, err := tp.DeclareExchange(ctx, inst, z); code(err) != reply.CommandInvalid {
		t.Fatalf("unknown type: %v, want 503", err)
	}
}

func TestBindingsAndAutoDelete(t *testing.T) { both(t, testBindingsAndAutoDelete) }

func testBindingsAndAutoDelete(t *testing.T, ctx context.Context, s *Service, tp control.Topology) {
	src := topology.Exchange{VHost: "/", Name: "src", Type: topology.Direct, AutoDelete: true}
	dst := topology.Exchange{VHost: "/", Name: "dst", Type: topology.Fanout}
	for _, x := range []topology.Exchange{src, dst} {
		if _, err := tp.DeclareExchange(ctx, inst, x); err != nil {
			t.Fatal(err)
		}
	}
	b := topology.Binding{VHost: "/", Source: "src", DestKind: topology.ToExchange, Dest: "dst", Key: "k"}
	missing := b
	missing.Dest = "nowhere"
	if _, err := tp.Bind(ctx, inst, missing); code(err) != reply.NotFound {
		t.Fatalf("bind to a missing exchange: %v, want 404", err)
	}
	if _, err := tp.Bind(ctx, inst, b); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Bind(ctx, inst, b); err != nil {
		t.Fatalf("binding twice: %v", err)
	}
	if _, err := tp.DeleteExchange(ctx, inst, "/", "src", true); code(err) != reply.PreconditionFailed {
		t.Fatalf("delete if-unused with a binding: %v, want 406", err)
	}
	other := b
	other.Key = "other"
	if _, err := tp.Unbind(ctx, inst, other); err != nil {
		t.Fatalf("unbinding what was never bound: %v", err)
	}
	if !s.exchangeExists("src") {
		t.Fatal("an idempotent unbind deleted the auto-delete exchange")
	}
	if _, err := tp.Unbind(ctx, inst, b); err != nil {
		t.Fatal(err)
	}
	if s.exchangeExists("src") {
		t.Fatal("auto-delete exchange kept after its last binding went")
	}
	if !s.exchangeExists("dst") {
		t.Fatal("the destination went too")
	}
}

func TestHeadersBindingValidatesXMatch(t *testing.T) { both(t, testHeadersBindingValidatesXMatch) }

func testHeadersBindingValidatesXMatch(t *testing.T, ctx context.Context, s *Service, tp control.Topology) {
	q := topology.Binding{VHost: "/", Source: "amq.headers", DestKind: topology.ToExchange, Dest: "amq.fanout",
		Args: map[string]any{"x-match": "some"}}
	if _, err := tp.Bind(ctx, inst, q); code(err) != reply.PreconditionFailed {
		t.Fatalf("x-match some: %v, want 406", err)
	}
}
