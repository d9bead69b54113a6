package mgmtapi

import (
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/provision"
)

type bindingJSON struct {
	Source          string         `json:"source"`
	VHost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
	PropertiesKey   string         `json:"properties_key"`
}

func (a *API) bindingRoutes(mux *http.ServeMux) {
	list := withKind("", a.listBindings)
	a.handle(mux, "GET /api/bindings", anyManagement, list)
	a.handle(mux, "GET /api/bindings/{vhost}", anyManagement, list)
	for short, kind := range map[string]string{"q": "queue", "e": "exchange"} {
		between := "/api/bindings/{vhost}/e/{source}/" + short + "/{dest}"
		a.handle(mux, "GET "+between, anyManagement, withKind(kind, a.listBindings))
		a.handle(mux, "POST "+between, anyManagement, withKind(kind, a.postBinding))
		a.handle(mux, "GET "+between+"/{props}", anyManagement, withKind(kind, a.getBinding))
		a.handle(mux, "DELETE "+between+"/{props}", anyManagement, withKind(kind, a.deleteBinding))
	}
	a.handle(mux, "GET /api/exchanges/{vhost}/{name}/bindings/source", anyManagement, list)
	a.handle(mux, "GET /api/exchanges/{vhost}/{name}/bindings/destination", anyManagement, list)
	a.handle(mux, "GET /api/queues/{vhost}/{name}/bindings", anyManagement, list)
}

// withKind passes a binding path's destination type (its /q/ or /e/) to h.
func withKind(kind string, h func(http.ResponseWriter, *http.Request, *caller, string) error) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error { return h(w, r, c, kind) }
}

// bindingFilter is what a listing path narrows to.
type bindingFilter struct {
	vhost, source, dest, destKind string
	hasSource, hasDest            bool
}

func filterOf(r *http.Request, kind string) bindingFilter {
	f := bindingFilter{vhost: pathValue(r, "vhost")}
	switch {
	case kind != "":
		f.source, f.dest, f.destKind = exchangeName(pathValue(r, "source")), pathValue(r, "dest"), kind
		f.hasSource, f.hasDest = true, true
	case pathValue(r, "name") == "":
	case strings.HasSuffix(r.URL.Path, "/bindings/source"):
		f.source, f.hasSource = exchangeName(pathValue(r, "name")), true
	case strings.HasSuffix(r.URL.Path, "/bindings/destination"):
		f.dest, f.destKind, f.hasDest = pathValue(r, "name"), "exchange", true
	case strings.HasSuffix(r.URL.Path, "/bindings"):
		f.dest, f.destKind, f.hasDest = pathValue(r, "name"), "queue", true
	}
	return f
}

func (f bindingFilter) match(b bindingJSON) bool {
	return (f.vhost == "" || b.VHost == f.vhost) &&
		(!f.hasSource || b.Source == f.source) &&
		(!f.hasDest || (b.Destination == f.dest && b.DestinationType == f.destKind))
}

// bindings lists what RabbitMQ lists: the declared bindings and, for
// every queue, the default exchange's implicit one.
func (a *API) bindings(c *caller, f bindingFilter) ([]bindingJSON, error) {
	if err := a.visibleVHost(c, f.vhost); err != nil {
		return nil, err
	}
	qs, err := a.svc.ListQueues(c.ctx, &pb.ListQueuesRequest{Instance: c.inst, Vhost: f.vhost})
	if err != nil {
		return nil, err
	}
	bs, err := a.svc.ListBindings(c.ctx, &pb.ListBindingsRequest{Instance: c.inst, Vhost: f.vhost})
	if err != nil {
		return nil, err
	}
	var all []bindingJSON
	for _, q := range qs.GetQueues() {
		all = append(all, bindingJSON{Source: "", VHost: q.GetVhost(), Destination: q.GetName(), DestinationType: "queue",
			RoutingKey: q.GetName(), Arguments: map[string]any{}, PropertiesKey: provision.PropertiesKey(topology.Binding{Key: q.GetName()})})
	}
	for _, b := range bs.GetBindings() {
		all = append(all, bindingJSON{Source: b.GetSource(), VHost: b.GetVhost(), Destination: b.GetDestination(),
			DestinationType: b.GetDestinationType(), RoutingKey: b.GetRoutingKey(), Arguments: argsJSON(b.GetArguments()),
			PropertiesKey: b.GetPropertiesKey()})
	}
	out := []bindingJSON{}
	for _, b := range all {
		if f.match(b) && a.canSee(c, b.VHost) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (a *API) listBindings(w http.ResponseWriter, r *http.Request, c *caller, kind string) error {
	out, err := a.bindings(c, filterOf(r, kind))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getBinding(w http.ResponseWriter, r *http.Request, c *caller, kind string) error {
	out, err := a.bindings(c, filterOf(r, kind))
	if err != nil {
		return err
	}
	for _, b := range out {
		if b.PropertiesKey == pathValue(r, "props") {
			writeJSON(w, http.StatusOK, b)
			return nil
		}
	}
	return errNotFound
}

// bindingBody is the POST of a binding; the ends come from the path, and
// the fields that repeat them (rabbitmqadmin sends destination_type) are
// taken and ignored, as RabbitMQ does.
type bindingBody struct {
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
	Source          string         `json:"source"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	VHost           string         `json:"vhost"`
}

// checkBind makes RabbitMQ's permission checks of a bind or unbind:
// write on the destination, read on the source.
func (a *API) checkBind(c *caller, f bindingFilter) error {
	if _, err := a.svc.GetVHost(c.ctx, &pb.GetVHostRequest{Instance: c.inst, Vhost: f.vhost}); err != nil {
		if fromStatus(err) == errNotFound {
			return errVHostNotFound
		}
		return err
	}
	if err := a.allowed(c, f.vhost, write, f.dest); err != nil {
		return err
	}
	return a.allowed(c, f.vhost, read, f.source)
}

// postBinding binds and answers 201 with the new binding's location
// (relative, as RabbitMQ's: "<destination>/<properties_key>").
func (a *API) postBinding(w http.ResponseWriter, r *http.Request, c *caller, kind string) error {
	var b bindingBody
	if err := decode(r, &b); err != nil {
		return err
	}
	f := filterOf(r, kind)
	if err := a.checkBind(c, f); err != nil {
		return err
	}
	args, err := structpb.NewStruct(b.Arguments)
	if err != nil {
		return badRequest(err.Error())
	}
	nb, err := a.svc.CreateBinding(c.ctx, &pb.CreateBindingRequest{Instance: c.inst, Vhost: f.vhost, Source: f.source,
		Destination: f.dest, DestinationType: f.destKind, RoutingKey: b.RoutingKey, Arguments: args})
	if err != nil {
		return err
	}
	w.Header().Set("Location", url.PathEscape(f.dest)+"/"+url.PathEscape(nb.GetPropertiesKey()))
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (a *API) deleteBinding(w http.ResponseWriter, r *http.Request, c *caller, kind string) error {
	f := filterOf(r, kind)
	if err := a.checkBind(c, f); err != nil {
		return err
	}
	_, err := a.svc.DeleteBinding(c.ctx, &pb.DeleteBindingRequest{Instance: c.inst, Vhost: f.vhost, Source: f.source,
		DestinationType: f.destKind, Destination: f.dest, PropertiesKey: pathValue(r, "props")})
	if err != nil {
		return err
	}
	noContent(w)
	return nil
}
