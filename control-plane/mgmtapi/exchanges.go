package mgmtapi

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
)

func (a *API) topologyRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/exchanges", anyManagement, a.listExchanges)
	a.handle(mux, "GET /api/exchanges/{vhost}", anyManagement, a.listExchanges)
	a.handle(mux, "GET /api/exchanges/{vhost}/{name}", anyManagement, a.getExchange)
	a.handle(mux, "PUT /api/exchanges/{vhost}/{name}", anyManagement, a.putExchange)
	a.handle(mux, "DELETE /api/exchanges/{vhost}/{name}", anyManagement, a.deleteExchange)
	a.handle(mux, "GET /api/queues", anyManagement, a.listQueues)
	a.handle(mux, "GET /api/queues/{vhost}", anyManagement, a.listQueues)
	a.handle(mux, "GET /api/queues/{vhost}/{name}", anyManagement, a.getQueue)
	a.handle(mux, "PUT /api/queues/{vhost}/{name}", anyManagement, a.putQueue)
	a.handle(mux, "DELETE /api/queues/{vhost}/{name}", anyManagement, a.deleteQueue)
	a.handle(mux, "DELETE /api/queues/{vhost}/{name}/contents", anyManagement, a.purgeQueue)
}

// visibleVHost checks a vhost named in the path: one the caller may not
// see does not exist for it.
func (a *API) visibleVHost(c *caller, vhost string) error {
	if vhost == "" {
		return nil
	}
	if !a.canSee(c, vhost) {
		return errNotFound
	}
	_, err := a.svc.GetVHost(c.ctx, &pb.GetVHostRequest{Instance: c.inst, Vhost: vhost})
	return err
}

func (a *API) listExchanges(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if err := a.visibleVHost(c, vhost); err != nil {
		return err
	}
	list, err := a.svc.ListExchanges(c.ctx, &pb.ListExchangesRequest{Instance: c.inst, Vhost: vhost})
	if err != nil {
		return err
	}
	out := []exchangeJSON{}
	for _, x := range list.GetExchanges() {
		if a.canSee(c, x.GetVhost()) {
			out = append(out, exchangeJSONOf(x))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// exchangeName maps the path name of the default exchange, amq.default,
// to its real name "".
func exchangeName(name string) string {
	if name == "amq.default" {
		return ""
	}
	return name
}

func (a *API) getExchange(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if err := a.visibleVHost(c, vhost); err != nil {
		return err
	}
	x, err := a.svc.GetExchange(c.ctx, &pb.GetExchangeRequest{Instance: c.inst, Vhost: vhost, Name: exchangeName(pathValue(r, "name"))})
	if err != nil {
		return err
	}
	// One exchange carries its message flows too; Warren measures none yet.
	writeJSON(w, http.StatusOK, struct {
		exchangeJSON
		Incoming []any `json:"incoming"`
		Outgoing []any `json:"outgoing"`
	}{exchangeJSONOf(x), []any{}, []any{}})
	return nil
}

type exchangeBody struct {
	Type                   string         `json:"type"`
	Durable                *flexBool      `json:"durable"`
	AutoDelete             flexBool       `json:"auto_delete"`
	Internal               flexBool       `json:"internal"`
	Arguments              map[string]any `json:"arguments"`
	UserWhoPerformedAction string         `json:"user_who_performed_action"`
	VHost                  string         `json:"vhost"`
	Name                   string         `json:"name"`
}

// checkDeclare makes RabbitMQ's checks of an HTTP declare or delete, in
// its order: the vhost, the reserved namespace, the caller's configure
// permission.
func (a *API) checkDeclare(c *caller, vhost, name string) error {
	if _, err := a.svc.GetVHost(c.ctx, &pb.GetVHostRequest{Instance: c.inst, Vhost: vhost}); err != nil {
		if fromStatus(err) == errNotFound {
			return errVHostNotFound
		}
		return err
	}
	if strings.HasPrefix(name, "amq.") {
		return errRefused
	}
	return a.allowed(c, vhost, configure, name)
}

func (a *API) putExchange(w http.ResponseWriter, r *http.Request, c *caller) error {
	var b exchangeBody
	if err := decode(r, &b); err != nil {
		return err
	}
	vhost, name := pathValue(r, "vhost"), pathValue(r, "name")
	if err := a.checkDeclare(c, vhost, name); err != nil {
		return err
	}
	args, err := structpb.NewStruct(b.Arguments)
	if err != nil {
		return badRequest(err.Error())
	}
	_, err = a.svc.GetExchange(c.ctx, &pb.GetExchangeRequest{Instance: c.inst, Vhost: vhost, Name: name})
	isNew := fromStatus(err) == errNotFound
	_, err = a.svc.CreateExchange(c.ctx, &pb.CreateExchangeRequest{Instance: c.inst, Vhost: vhost, Name: name,
		Type: b.Type, Durable: b.Durable.ptr(), AutoDelete: bool(b.AutoDelete), Internal: bool(b.Internal), Arguments: args})
	if err != nil {
		return err
	}
	created(w, isNew)
	return nil
}

func (a *API) deleteExchange(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost, name := pathValue(r, "vhost"), exchangeName(pathValue(r, "name"))
	if err := a.checkDeclare(c, vhost, permName(name)); err != nil {
		return err
	}
	_, err := a.svc.DeleteExchange(c.ctx, &pb.DeleteExchangeRequest{Instance: c.inst, Vhost: vhost, Name: name,
		IfUnused: r.URL.Query().Get("if-unused") == "true"})
	if err != nil {
		return err
	}
	noContent(w)
	return nil
}
