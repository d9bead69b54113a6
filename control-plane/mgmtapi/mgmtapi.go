// Package mgmtapi serves RabbitMQ's management HTTP API under /api/, with
// the payload shapes of RabbitMQ 3.10, so rabbitmqadmin, monitoring tools
// and the Terraform provider work against Warren. Callers log in with
// HTTP basic auth as a user of an instance ("<instance>:<user>", or the
// default instance's user) and act as RabbitMQ's user tags allow. Every
// change goes through the provisioning service, so the API's checks,
// quotas and read-your-writes apply unchanged; this package translates
// shapes and decides who may call what.
package mgmtapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topokv"
)

// DefaultMaxBodyBytes and DefaultMaxDefinitionsBytes cap request bodies,
// as the provisioning API's do.
const (
	DefaultMaxBodyBytes        = 1 << 20
	DefaultMaxDefinitionsBytes = 16 << 20
)

// Options configure the API.
type Options struct {
	// DefaultInstance is the instance of a login without "<instance>:".
	DefaultInstance string
	// Node names the deployment where RabbitMQ names its node
	// (e.g. "warren@localhost").
	Node string
	// AMQPPort is the port reported in the overview's listeners.
	AMQPPort int
	// MaxBodyBytes caps a request body (0: DefaultMaxBodyBytes), and
	// MaxDefinitionsBytes a definitions import (0: DefaultMaxDefinitionsBytes).
	MaxBodyBytes, MaxDefinitionsBytes int64
	// Alarms reports the storage nodes' resource alarms, for the node's
	// mem_alarm and disk_free_alarm and the health checks (nil: none).
	Alarms Alarms
	Log    *slog.Logger
}

// Connections lists and closes the AMQP connections of an instance, and
// lists their channels and consumers; the gateways hold them (nil: none
// are listed).
type Connections interface {
	List(ctx context.Context, instance string) ([]Connection, error)
	Channels(ctx context.Context, instance string) ([]Channel, error)
	Consumers(ctx context.Context, instance string) ([]Consumer, error)
	// Close closes one connection with 320 CONNECTION_FORCED and reason;
	// found is false when no gateway has it.
	Close(ctx context.Context, instance, name, reason string) (found bool, err error)
}

// API is the management API's handler state.
type API struct {
	svc    pb.ProvisioningServer
	mirror *topokv.Mirror
	conns  Connections
	opts   Options
	// started is when the API began serving: the node's uptime.
	started time.Time
}

// Handler returns the API, to be mounted at "/api/".
func Handler(svc pb.ProvisioningServer, mirror *topokv.Mirror, conns Connections, o Options) http.Handler {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxDefinitionsBytes == 0 {
		o.MaxDefinitionsBytes = DefaultMaxDefinitionsBytes
	}
	if o.Node == "" {
		o.Node = "warren@localhost"
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	a := &API{svc: svc, mirror: mirror, conns: conns, opts: o, started: time.Now()}
	mux := http.NewServeMux()
	a.routes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { writeError(w, errNotFound) })
	return limitBody(o.bodyLimit, escapedPaths(mux))
}

// bodyLimit is the cap on r's body: larger for a definitions import.
func (o Options) bodyLimit(r *http.Request) int64 {
	if r.URL.Path == "/api/definitions" {
		return o.MaxDefinitionsBytes
	}
	return o.MaxBodyBytes
}
