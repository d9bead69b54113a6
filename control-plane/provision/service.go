// Package provision is the control plane's provisioning service: the
// Provisioning gRPC service of api/provisionpb over the topology bucket.
// It validates and authorizes each call (the HTTP layer has authenticated
// the caller and put its apiauth.Principal in the context), writes
// instance, user and permission records itself, and leaves vhosts and
// their contents to the topology service, which owns them.
package provision

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/apiauth"
	"github.com/warrenmq/warren/control-plane/topo"
)

// Options configure the service.
type Options struct {
	// Endpoint is the AMQP URL clients reach the gateways at, reported with
	// every instance.
	Endpoint string
	// DefaultQuotas fill the quotas a new instance's creator leaves out
	// (zero value: topology.DefaultQuotas).
	DefaultQuotas *topology.Quotas
}

// Service implements pb.ProvisioningServer.
//
// Concurrency: mu serializes the service's checks and the writes that
// follow them (a permission is written only while its user and vhost
// exist; a user's deletion takes its permissions), so no two calls
// interleave. Reads go to the mirror, which WaitFor keeps current with
// the service's own writes. Lock order: mu, then the topology service's.
type Service struct {
	pb.UnimplementedProvisioningServer
	kv     jetstream.KeyValue // the topology bucket
	mirror *topokv.Mirror
	topo   *topo.Service
	tokens *apiauth.Store
	opts   Options
	log    *slog.Logger
	mu     sync.Mutex
}

var _ pb.ProvisioningServer = (*Service)(nil)

// New returns the service.
func New(kv jetstream.KeyValue, mirror *topokv.Mirror, t *topo.Service, tokens *apiauth.Store, o Options, log *slog.Logger) *Service {
	if o.DefaultQuotas == nil {
		o.DefaultQuotas = &topology.DefaultQuotas
	}
	return &Service{kv: kv, mirror: mirror, topo: t, tokens: tokens, opts: o, log: log}
}

// deleteTimeout bounds a deletion that goes on after its caller left: a
// vhost's or instance's deletion is finished even when the HTTP client
// hangs up, rather than left to a retry.
const deleteTimeout = 5 * time.Minute

func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
}

// principal is the caller, as authenticated by the HTTP layer.
func principal(ctx context.Context) (apiauth.Principal, error) {
	p, ok := apiauth.FromContext(ctx)
	if !ok {
		return apiauth.Principal{}, status.Error(codes.Unauthenticated, "no credentials")
	}
	return p, nil
}

// adminOnly refuses callers other than the admin.
func adminOnly(ctx context.Context) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if !p.Admin {
		return status.Error(codes.PermissionDenied, "only the admin token may do this")
	}
	return nil
}

// authorize refuses callers that may not act on inst. It comes before any
// lookup, so a scoped token learns nothing of other instances.
func authorize(ctx context.Context, inst string) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if !p.MayAccess(inst) {
		return status.Errorf(codes.PermissionDenied, "the token is scoped to instance %q", p.Instance)
	}
	return nil
}

// instance authorizes the caller for inst and returns its record.
func (s *Service) instance(ctx context.Context, inst string) (topology.Instance, error) {
	if err := authorize(ctx, inst); err != nil {
		return topology.Instance{}, err
	}
	i, ok := s.mirror.Instance(inst)
	if !ok {
		return i, status.Errorf(codes.NotFound, "instance %q not found", inst)
	}
	return i, nil
}

// activeInstance is instance for calls that change it: an instance being
// deleted takes no changes.
func (s *Service) activeInstance(ctx context.Context, inst string) (topology.Instance, error) {
	i, err := s.instance(ctx, inst)
	if err == nil && i.Status != topology.Active {
		err = status.Errorf(codes.FailedPrecondition, "instance %q is being deleted", inst)
	}
	return i, err
}

// settle waits until the mirror holds revision rev, so the caller's next
// read sees its write.
func (s *Service) settle(ctx context.Context, rev uint64) error {
	return storageError(s.mirror.WaitFor(ctx, rev))
}

// settleLatest is settle after deletes, which return no revision.
func (s *Service) settleLatest(ctx context.Context) error {
	return storageError(s.mirror.WaitLatest(ctx, s.kv))
}

// storageError maps a failure of KV or a storage node to a status: the
// caller may retry later; a status already made passes through.
func storageError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Errorf(codes.Unavailable, "control plane storage: %v", err)
}

func invalid(err error) error { return status.Error(codes.InvalidArgument, err.Error()) }
