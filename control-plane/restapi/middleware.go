package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/warrenmq/warren/control-plane/apiauth"
)

// authenticate lets through only requests with a valid bearer token,
// carrying its principal in the context for the service to authorize.
func authenticate(auth Authenticator, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warren"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "send Authorization: Bearer <token>")
			return
		}
		p, err := auth.Authenticate(r.Context(), token)
		if errors.Is(err, apiauth.ErrBadToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warren", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "invalid token")
			return
		}
		if err != nil {
			log.Warn("provisioning API: checking a token", "err", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", "cannot check the token now; retry")
			return
		}
		next.ServeHTTP(w, r.WithContext(apiauth.WithPrincipal(r.Context(), p)))
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 9110).
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// readBody reads the whole body up to limit: a larger one gets 413
// before the service sees anything, and one that is not a single JSON
// value gets 400, so the decoder never works on half a body or ignores
// trailing bytes.
func readBody(limitOf func(*http.Request) int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := limitOf(r)
		if r.ContentLength > limit {
			writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", bodyTooLarge(limit))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", "reading the body: "+err.Error())
			return
		}
		if int64(len(body)) > limit {
			writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", bodyTooLarge(limit))
			return
		}
		if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
			writeError(w, http.StatusBadRequest, "invalid_argument", "the body is not valid JSON")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func bodyTooLarge(limit int64) string {
	return fmt.Sprintf("the body is larger than %d bytes", limit)
}
