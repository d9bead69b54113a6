// Package restapi serves the provisioning API over HTTP: /v1/ through
// grpc-gateway, calling the service in-process, and the OpenAPI document
// at /openapi.json. Every request needs a bearer token; bodies are capped
// and must be JSON; every error is JSON {"code": "...", "message": "..."}
// with a stable code.
package restapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/control-plane/apiauth"
)

// DefaultMaxBodyBytes caps a request body: far above any provisioning
// call, small enough that no client makes the server buffer much.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxDefinitionsBytes caps a definitions import: a RabbitMQ export
// of thousands of queues and bindings runs to megabytes.
const DefaultMaxDefinitionsBytes = 16 << 20

// Options configure the handler.
type Options struct {
	// MaxBodyBytes caps a request body; larger ones get 413 (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxDefinitionsBytes caps a definitions import (0: DefaultMaxDefinitionsBytes).
	MaxDefinitionsBytes int64
	Log                 *slog.Logger
}

// Authenticator maps a bearer token to its principal, or returns
// apiauth.ErrBadToken (apiauth.Store).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (apiauth.Principal, error)
}

// Paths are the mux patterns Handler serves.
var Paths = []string{"/v1/", "/openapi.json"}

// Handler returns the API, to be mounted at each of Paths.
func Handler(svc provisionpb.ProvisioningServer, auth Authenticator, o Options) (http.Handler, error) {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxDefinitionsBytes == 0 {
		o.MaxDefinitionsBytes = DefaultMaxDefinitionsBytes
	}
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		runtime.WithErrorHandler(errorHandler(o.Log)),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		// Paths split at "/" only, then each {variable} is unescaped whole:
		// the vhost "/" is %2F, as in RabbitMQ's HTTP API.
		runtime.WithUnescapingMode(runtime.UnescapingModeAllExceptReserved),
		// A strict API: the method on the request is the method served.
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithDisablePathLengthFallback(),
	)
	if err := provisionpb.RegisterProvisioningHandlerServer(context.Background(), gw, svc); err != nil {
		return nil, fmt.Errorf("register provisioning API: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", gw)
	mux.HandleFunc("/openapi.json", serveOpenAPI)
	return authenticate(auth, o.Log, readBody(o.bodyLimit, mux)), nil
}

// bodyLimit is the cap on r's body: larger for a definitions import.
func (o Options) bodyLimit(r *http.Request) int64 {
	if strings.HasSuffix(r.URL.Path, "/definitions") {
		return o.MaxDefinitionsBytes
	}
	return o.MaxBodyBytes
}

// marshaler reads and writes the API's JSON: snake_case names as in the
// protos (and RabbitMQ's HTTP API), every field present in responses, and
// unknown fields in requests refused rather than silently dropped.
var marshaler = &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use GET")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(provisionpb.OpenAPI)
}
