package mgmtapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/warrenmq/warren/api/connadmin"
)

// Connection is one AMQP connection, in RabbitMQ's shape.
type Connection = connadmin.Info

func (a *API) connectionRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/connections", anyManagement, a.listConnections)
	a.handle(mux, "GET /api/connections/{name}", anyManagement, a.getConnection)
	a.handle(mux, "DELETE /api/connections/{name}", anyManagement, a.closeConnection)
	a.handle(mux, "GET /api/vhosts/{vhost}/connections", anyManagement, a.vhostConnections)
}

// connections lists what the caller may see: administrators and
// monitoring users every connection of the instance, others their own,
// as RabbitMQ.
func (a *API) connections(c *caller) ([]Connection, error) {
	if a.conns == nil {
		return []Connection{}, nil
	}
	all, err := a.conns.List(c.ctx, c.inst)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]Connection, 0, len(all))
	for _, cn := range all {
		if c.monitor() || cn.User == c.user.Name {
			out = append(out, cn)
		}
	}
	slices.SortFunc(out, func(x, y Connection) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

func (a *API) listConnections(w http.ResponseWriter, _ *http.Request, c *caller) error {
	conns, err := a.connections(c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conns)
	return nil
}

func (a *API) vhostConnections(w http.ResponseWriter, r *http.Request, c *caller) error {
	conns, err := a.connections(c)
	if err != nil {
		return err
	}
	out := []Connection{}
	for _, cn := range conns {
		if cn.VHost == pathValue(r, "vhost") {
			out = append(out, cn)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getConnection(w http.ResponseWriter, r *http.Request, c *caller) error {
	conns, err := a.connections(c)
	if err != nil {
		return err
	}
	for _, cn := range conns {
		if cn.Name == pathValue(r, "name") {
			writeJSON(w, http.StatusOK, cn)
			return nil
		}
	}
	return errNotFound
}

// closeConnection closes a connection the caller may see; the client
// gets 320 CONNECTION_FORCED with the X-Reason header's text, as from
// RabbitMQ.
func (a *API) closeConnection(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := pathValue(r, "name")
	conns, err := a.connections(c)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(conns, func(cn Connection) bool { return cn.Name == name }) {
		return errNotFound
	}
	reason := r.Header.Get("X-Reason")
	if reason == "" {
		reason = "Closed via management plugin"
	}
	found, err := a.conns.Close(c.ctx, c.inst, name, reason)
	if err != nil {
		return unavailable(err)
	}
	if !found {
		return errNotFound
	}
	noContent(w)
	return nil
}
