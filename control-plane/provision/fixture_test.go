package provision

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/control-plane/apiauth"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
	"github.com/warrenmq/warren/control-plane/topo"
)

// fixture is a Service on a real embedded JetStream server, with contexts
// for the admin and for a token scoped to the instance "acme".
type fixture struct {
	s     *Service
	kv    jetstream.KeyValue
	admin context.Context
	acme  context.Context // a token scoped to "acme"
	anon  context.Context // nobody authenticated
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	_, js := natstest.JetStream(t)
	kv, m := natstest.Topology(ctx, t, js)
	tokens, err := apiauth.Open(ctx, js, "admin-token-for-tests")
	if err != nil {
		t.Fatal(err)
	}
	s := New(kv, m, topo.New(kv, m, nil, slog.Default()), tokens, Options{Endpoint: "amqp://localhost:5672"}, slog.Default())
	return &fixture{s: s, kv: kv, anon: ctx,
		admin: apiauth.WithPrincipal(ctx, apiauth.Principal{Admin: true}),
		acme:  apiauth.WithPrincipal(ctx, apiauth.Principal{Instance: "acme", TokenID: "0123456789abcdef"}),
	}
}

// instance creates an instance as the admin.
func (f *fixture) instance(t *testing.T, name string, q *pb.Quotas) *pb.Instance {
	t.Helper()
	i, err := f.s.CreateInstance(f.admin, &pb.CreateInstanceRequest{Name: name, Quotas: q})
	if err != nil {
		t.Fatalf("create instance %s: %v", name, err)
	}
	return i
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Errorf("%s: %v (%v), want %v", what, got, err, code)
	}
}
