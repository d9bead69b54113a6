package restapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/warrenmq/warren/api/provisionpb"
)

// httpError is how a gRPC status code is answered over HTTP.
type httpError struct {
	status int
	code   string // stable; documented on provisionpb.Error
}

var httpErrors = map[codes.Code]httpError{
	codes.InvalidArgument:    {http.StatusBadRequest, "invalid_argument"},
	codes.Unauthenticated:    {http.StatusUnauthorized, "unauthenticated"},
	codes.PermissionDenied:   {http.StatusForbidden, "permission_denied"},
	codes.NotFound:           {http.StatusNotFound, "not_found"},
	codes.AlreadyExists:      {http.StatusConflict, "already_exists"},
	codes.FailedPrecondition: {http.StatusConflict, "failed_precondition"},
	codes.Aborted:            {http.StatusConflict, "aborted"},
	// Only quotas exhaust resources here: the state of the instance, not the
	// caller's rate, so 409 rather than grpc-gateway's 429.
	codes.ResourceExhausted: {http.StatusConflict, "quota_exceeded"},
	codes.Unimplemented:     {http.StatusNotImplemented, "not_implemented"},
	codes.Unavailable:       {http.StatusServiceUnavailable, "unavailable"},
	codes.DeadlineExceeded:  {http.StatusGatewayTimeout, "deadline_exceeded"},
	codes.Canceled:          {499, "canceled"}, // the client went away; nobody reads it
}

var internalError = httpError{http.StatusInternalServerError, "internal"}

// errorHandler answers the service's errors, and grpc-gateway's own (a
// body that does not decode is InvalidArgument).
func errorHandler(log *slog.Logger) runtime.ErrorHandlerFunc {
	return func(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		var hse *runtime.HTTPStatusError
		if errors.As(err, &hse) { // a malformed %-escape in a path variable
			writeError(w, hse.HTTPStatus, "invalid_argument", hse.Err.Error())
			return
		}
		st := status.Convert(err)
		he, ok := httpErrors[st.Code()]
		if !ok {
			he = internalError
			log.Error("provisioning API", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, he.status, he.code, st.Message())
	}
}

// routingErrorHandler answers requests that match no endpoint.
func routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound:
		writeError(w, httpStatus, "not_found", "no endpoint "+r.URL.Path)
	case http.StatusMethodNotAllowed:
		writeError(w, httpStatus, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
	default:
		writeError(w, httpStatus, "invalid_argument", http.StatusText(httpStatus))
	}
}

var errorJSON = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// writeError writes an error body.
func writeError(w http.ResponseWriter, status int, code, message string) {
	b, err := errorJSON.Marshal(&provisionpb.Error{Code: code, Message: message})
	if err != nil { // cannot happen for two strings; answer all the same
		b = []byte(`{"code":"internal","message":"error encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
