package mgmtapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// handler serves one endpoint for an authenticated caller; an error is
// answered as RabbitMQ answers it.
type handler func(w http.ResponseWriter, r *http.Request, c *caller) error

// gate is who may call an endpoint at all; finer checks (vhost access,
// AMQP permissions) are the handler's.
type gate func(c *caller) error

func anyManagement(c *caller) error {
	if !c.management() {
		return errNotManagement
	}
	return nil
}

func adminOnly(c *caller) error {
	if !c.admin() {
		return errNotAdmin
	}
	return nil
}

func (a *API) routes(mux *http.ServeMux) {
	a.overviewRoutes(mux)
	a.accessRoutes(mux)
	a.topologyRoutes(mux)
	a.bindingRoutes(mux)
	a.policyRoutes(mux)
	a.connectionRoutes(mux)
	a.channelRoutes(mux)
	a.nodeRoutes(mux)
	a.healthRoutes(mux)
}

// handle registers pattern behind basic auth and its gate.
func (a *API) handle(mux *http.ServeMux, pattern string, g gate, h handler) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, err := a.authenticate(r)
		if err == nil {
			err = g(c)
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			writeError(w, err)
		}
	})
}

// escapedPaths makes the mux match on the escaped path: the vhost "/" is
// %2F, and ServeMux would clean the "//" its unescaping makes into
// another path. Handlers read path variables with pathValue.
func escapedPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path, r.URL.RawPath = r.URL.EscapedPath(), ""
		next.ServeHTTP(w, r)
	})
}

// pathValue is a path variable, unescaped (escapedPaths left it escaped).
func pathValue(r *http.Request, key string) string {
	v, err := url.PathUnescape(r.PathValue(key))
	if err != nil {
		return r.PathValue(key)
	}
	return v
}

// decode reads a JSON object into v: fields RabbitMQ's API does not have
// are refused, so a typo is not silently ignored.
func decode(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("not_json")
		}
		return badRequest(fmt.Sprintf("not_json: %v", err))
	}
	if d.More() {
		return badRequest("not_json: trailing data")
	}
	return nil
}

// limitBody reads the whole body up to limit before any handler runs: a
// larger one gets 413.
func limitBody(limitOf func(*http.Request) int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := limitOf(r)
		if r.ContentLength > limit {
			writeError(w, errTooLarge)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			writeError(w, badRequest("reading the body: "+err.Error()))
			return
		}
		if int64(len(body)) > limit {
			writeError(w, errTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// created answers a PUT: 201 when it made something, 204 when it existed.
func created(w http.ResponseWriter, isNew bool) {
	if isNew {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }
