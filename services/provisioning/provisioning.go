// Package provisioning wires the provisioning API and RabbitMQ's
// management API into the process that runs the control plane (`warren
// serve`, `warren control-plane`): the admin token, the token bucket, the
// service, the default instance, and both HTTP handlers on the process's
// HTTP mux.
package provisioning

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/apiauth"
	"github.com/warrenmq/warren/control-plane/gatewayconns"
	"github.com/warrenmq/warren/control-plane/mgmtapi"
	"github.com/warrenmq/warren/control-plane/provision"
	"github.com/warrenmq/warren/control-plane/restapi"
	"github.com/warrenmq/warren/control-plane/topo"
)

// AdminTokenEnv is the environment variable the admin token may come
// from, so that it stays out of process listings.
const AdminTokenEnv = "WARREN_ADMIN_TOKEN"

// Config is what the API needs from the process.
type Config struct {
	// AdminToken is the bootstrap admin token; empty means the one kept in
	// DataDir, generated there the first time.
	AdminToken string
	DataDir    string
	// Endpoint is the AMQP URL reported with every instance.
	Endpoint string
	JS       jetstream.JetStream
	TopoKV   jetstream.KeyValue
	Mirror   *topokv.Mirror
	Topo     *topo.Service
	// NATS carries the management API's questions to the gateways about
	// their connections; Gateways counts the live gateways that answer.
	NATS     *nats.Conn
	Gateways func(ctx context.Context) int
	// AMQPPort is reported in the management API's overview.
	AMQPPort int
	// Alarms reports the storage nodes' resource alarms to the management
	// API's nodes and health checks.
	Alarms mgmtapi.Alarms
	Log    *slog.Logger
}

// Mount gives the default instance what a fresh RabbitMQ node has (once),
// and serves the API on mux.
func Mount(ctx context.Context, mux *http.ServeMux, c Config) error {
	token, err := adminToken(c)
	if err != nil {
		return err
	}
	tokens, err := apiauth.Open(ctx, c.JS, token)
	if err != nil {
		return err
	}
	svc := provision.New(c.TopoKV, c.Mirror, c.Topo, tokens, provision.Options{Endpoint: c.Endpoint}, c.Log)
	if err := svc.EnsureDefault(ctx); err != nil {
		return err
	}
	h, err := restapi.Handler(svc, tokens, restapi.Options{Log: c.Log})
	if err != nil {
		return err
	}
	for _, p := range restapi.Paths {
		mux.Handle(p, h)
	}
	mux.Handle("/api/", mgmtapi.Handler(svc, c.Mirror, connections(c), mgmtapi.Options{
		DefaultInstance: topology.DefaultInstance, AMQPPort: c.AMQPPort, Alarms: c.Alarms, Log: c.Log}))
	return nil
}

// connections asks the gateways over NATS; without NATS none are listed.
func connections(c Config) mgmtapi.Connections {
	if c.NATS == nil || c.Gateways == nil {
		return nil
	}
	return gatewayconns.New(c.NATS, c.Gateways)
}

// adminToken is the configured token, or the one kept in the data folder.
// The log names the file, never the token.
func adminToken(c Config) (string, error) {
	if c.AdminToken != "" {
		return c.AdminToken, nil
	}
	token, created, err := apiauth.LoadOrCreateAdminToken(c.DataDir)
	if err != nil {
		return "", err
	}
	file := filepath.Join(c.DataDir, apiauth.AdminTokenFile)
	if created {
		c.Log.Warn("provisioning API: no admin token given; generated one", "file", file)
	} else {
		c.Log.Info("provisioning API: admin token read", "file", file)
	}
	return token, nil
}
