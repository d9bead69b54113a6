package mgmtapi

import (
	"net/http"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/control-plane/definitions"
)

type vhostJSON struct {
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	Tags             []string          `json:"tags"`
	DefaultQueueType string            `json:"default_queue_type"`
	Metadata         vhostMetadata     `json:"metadata"`
	Tracing          bool              `json:"tracing"`
	ClusterState     map[string]string `json:"cluster_state"`
	queueTotals
}

type vhostMetadata struct {
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
}

type userJSON struct {
	Name             string         `json:"name"`
	PasswordHash     string         `json:"password_hash"`
	HashingAlgorithm string         `json:"hashing_algorithm"`
	Tags             []string       `json:"tags"`
	Limits           map[string]any `json:"limits"`
}

type permissionJSON struct {
	User      string `json:"user"`
	VHost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

func (a *API) accessRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/vhosts", anyManagement, a.listVHosts)
	a.handle(mux, "GET /api/vhosts/{vhost}", anyManagement, a.getVHost)
	a.handle(mux, "PUT /api/vhosts/{vhost}", adminOnly, a.putVHost)
	a.handle(mux, "DELETE /api/vhosts/{vhost}", adminOnly, a.deleteVHost)
	a.handle(mux, "GET /api/vhosts/{vhost}/permissions", adminOnly, a.listPermissions)
	a.handle(mux, "GET /api/users", adminOnly, a.listUsers)
	a.handle(mux, "GET /api/users/{user}", adminOnly, a.getUser)
	a.handle(mux, "PUT /api/users/{user}", adminOnly, a.putUser)
	a.handle(mux, "DELETE /api/users/{user}", adminOnly, a.deleteUser)
	a.handle(mux, "GET /api/users/{user}/permissions", adminOnly, a.listPermissions)
	a.handle(mux, "GET /api/permissions", adminOnly, a.listPermissions)
	a.handle(mux, "GET /api/permissions/{vhost}/{user}", adminOnly, a.getPermission)
	a.handle(mux, "PUT /api/permissions/{vhost}/{user}", adminOnly, a.putPermission)
	a.handle(mux, "DELETE /api/permissions/{vhost}/{user}", adminOnly, a.deletePermission)
	a.handle(mux, "GET /api/definitions", adminOnly, a.exportDefinitions)
	a.handle(mux, "POST /api/definitions", adminOnly, a.importDefinitions)
}

func (a *API) vhostJSON(v *pb.VHost) vhostJSON {
	tags := orEmpty(v.GetTags())
	return vhostJSON{Name: v.GetName(), Description: v.GetDescription(), Tags: tags, DefaultQueueType: "undefined",
		Metadata: vhostMetadata{v.GetDescription(), tags}, ClusterState: map[string]string{a.opts.Node: "running"}}
}

func (a *API) listVHosts(w http.ResponseWriter, _ *http.Request, c *caller) error {
	list, err := a.svc.ListVHosts(c.ctx, &pb.ListVHostsRequest{Instance: c.inst})
	if err != nil {
		return err
	}
	out := []vhostJSON{}
	for _, v := range list.GetVhosts() {
		if a.canSee(c, v.GetName()) {
			out = append(out, a.vhostJSON(v))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getVHost(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !a.canSee(c, pathValue(r, "vhost")) {
		return errNotFound
	}
	v, err := a.svc.GetVHost(c.ctx, &pb.GetVHostRequest{Instance: c.inst, Vhost: pathValue(r, "vhost")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.vhostJSON(v))
	return nil
}

// vhostBody is PUT /api/vhosts/{name}; tags are a comma-separated string
// or a list, as in RabbitMQ. The name comes from the path (rabbitmqadmin
// repeats it in the body).
type vhostBody struct {
	Name             string            `json:"name"`
	Description      *string           `json:"description"`
	Tags             *definitions.Tags `json:"tags"`
	Tracing          bool              `json:"tracing"`
	DefaultQueueType string            `json:"default_queue_type"`
}

func (a *API) putVHost(w http.ResponseWriter, r *http.Request, c *caller) error {
	var b vhostBody
	if err := decode(r, &b); err != nil {
		return err
	}
	name := pathValue(r, "vhost")
	_, err := a.svc.GetVHost(c.ctx, &pb.GetVHostRequest{Instance: c.inst, Vhost: name})
	if fromStatus(err) == errNotFound {
		_, err = a.svc.CreateVHost(c.ctx, &pb.CreateVHostRequest{Instance: c.inst, Name: name,
			Description: deref(b.Description), Tags: tagsOf(b.Tags)})
		if err == nil {
			created(w, true)
		}
		return err
	}
	if err != nil {
		return err
	}
	var paths []string
	if b.Description != nil {
		paths = append(paths, "description")
	}
	if b.Tags != nil {
		paths = append(paths, "tags")
	}
	_, err = a.svc.UpdateVHost(c.ctx, &pb.UpdateVHostRequest{Instance: c.inst, Vhost: name,
		Settings:   &pb.VHostSettings{Description: deref(b.Description), Tags: tagsOf(b.Tags)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	if err == nil {
		created(w, false)
	}
	return err
}

func (a *API) deleteVHost(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := a.svc.DeleteVHost(c.ctx, &pb.DeleteVHostRequest{Instance: c.inst, Vhost: pathValue(r, "vhost")}); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func tagsOf(t *definitions.Tags) []string {
	if t == nil {
		return nil
	}
	return *t
}
