package mgmtapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// apiError is an error answered as RabbitMQ's management API answers it:
// {"error": "...", "reason": "..."} with its HTTP status.
type apiError struct {
	status int
	Err    string `json:"error"`
	Reason string `json:"reason"`
}

func (e *apiError) Error() string { return e.Err + ": " + e.Reason }

// RabbitMQ 3.10's texts (e2e/testdata/rabbitmq-3.10/README.md).
var (
	errNotFound      = &apiError{http.StatusNotFound, "Object Not Found", "Not Found"}
	errVHostNotFound = &apiError{http.StatusNotFound, "not_found", "vhost_not_found"}
	errLogin         = &apiError{http.StatusUnauthorized, "not_authorized", "Login failed"}
	errNotManagement = &apiError{http.StatusUnauthorized, "not_authorised", "Not management user"}
	errNotAdmin      = &apiError{http.StatusUnauthorized, "not_authorised", "Not administrator user"}
	errNoAccess      = &apiError{http.StatusUnauthorized, "not_authorised", "User not authorised to access object"}
	errRefused       = &apiError{http.StatusUnauthorized, "not_authorised", "Access refused."}
	errTooLarge      = &apiError{http.StatusRequestEntityTooLarge, "bad_request", "request body too large"}
)

func badRequest(reason string) *apiError {
	return &apiError{http.StatusBadRequest, "bad_request", reason}
}

// fromStatus maps the provisioning service's refusals to the management
// API's: its checks are the same, only the shape of the answer differs.
func fromStatus(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.NotFound:
		return errNotFound
	case codes.PermissionDenied, codes.Unauthenticated:
		return errNoAccess
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists, codes.ResourceExhausted, codes.Aborted:
		return badRequest(st.Message())
	case codes.Unavailable, codes.DeadlineExceeded:
		return &apiError{http.StatusServiceUnavailable, "service_unavailable", st.Message()}
	}
	return &apiError{http.StatusInternalServerError, "internal_error", st.Message()}
}

func writeError(w http.ResponseWriter, err error) {
	e := fromStatus(err)
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
	}
	writeJSON(w, e.status, e)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal_error","reason":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
