package mgmtapi

import (
	"net/http"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
)

type policyJSON struct {
	VHost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Definition map[string]any `json:"definition"`
	Priority   int32          `json:"priority"`
}

// policymaker may manage policies in its vhosts; the administrator in all.
func policymaker(c *caller) error {
	if !c.has(tagAdministrator, tagPolicymaker) {
		return errNoAccess
	}
	return nil
}

func (a *API) policyRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/policies", policymaker, a.listPolicies)
	a.handle(mux, "GET /api/policies/{vhost}", policymaker, a.listPolicies)
	a.handle(mux, "GET /api/policies/{vhost}/{name}", policymaker, a.getPolicy)
	a.handle(mux, "PUT /api/policies/{vhost}/{name}", policymaker, a.putPolicy)
	a.handle(mux, "DELETE /api/policies/{vhost}/{name}", policymaker, a.deletePolicy)
}

// policyVHost checks the caller may manage the vhost's policies.
func (a *API) policyVHost(c *caller, vhost string) error {
	if c.admin() {
		return nil
	}
	if _, ok := a.permission(c, vhost); !ok {
		return errNoAccess
	}
	return nil
}

func policyJSONOf(p *pb.Policy) policyJSON {
	return policyJSON{VHost: p.GetVhost(), Name: p.GetName(), Pattern: p.GetPattern(), ApplyTo: p.GetApplyTo(),
		Definition: argsJSON(p.GetDefinition()), Priority: p.GetPriority()}
}

func (a *API) listPolicies(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if err := a.visibleVHost(c, vhost); err != nil {
		return err
	}
	list, err := a.svc.ListPolicies(c.ctx, &pb.ListPoliciesRequest{Instance: c.inst, Vhost: vhost})
	if err != nil {
		return err
	}
	out := []policyJSON{}
	for _, p := range list.GetPolicies() {
		if a.policyVHost(c, p.GetVhost()) == nil {
			out = append(out, policyJSONOf(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if err := a.policyVHost(c, vhost); err != nil {
		return err
	}
	p, err := a.svc.GetPolicy(c.ctx, &pb.GetPolicyRequest{Instance: c.inst, Vhost: vhost, Name: pathValue(r, "name")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyJSONOf(p))
	return nil
}

type policyBody struct {
	Pattern    string         `json:"pattern"`
	Definition map[string]any `json:"definition"`
	Priority   flexInt        `json:"priority"`
	ApplyTo    string         `json:"apply-to"`
	VHost      string         `json:"vhost"`
	Name       string         `json:"name"`
}

func (a *API) putPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	var b policyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	vhost, name := pathValue(r, "vhost"), pathValue(r, "name")
	if err := a.policyVHost(c, vhost); err != nil {
		return err
	}
	def, err := structpb.NewStruct(b.Definition)
	if err != nil {
		return badRequest(err.Error())
	}
	_, err = a.svc.GetPolicy(c.ctx, &pb.GetPolicyRequest{Instance: c.inst, Vhost: vhost, Name: name})
	isNew := fromStatus(err) == errNotFound
	_, err = a.svc.PutPolicy(c.ctx, &pb.PutPolicyRequest{Instance: c.inst, Vhost: vhost, Name: name,
		Pattern: b.Pattern, ApplyTo: b.ApplyTo, Priority: int32(b.Priority), Definition: def})
	if err != nil {
		return err
	}
	created(w, isNew)
	return nil
}

func (a *API) deletePolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if err := a.policyVHost(c, vhost); err != nil {
		return err
	}
	if _, err := a.svc.DeletePolicy(c.ctx, &pb.DeletePolicyRequest{Instance: c.inst, Vhost: vhost, Name: pathValue(r, "name")}); err != nil {
		return err
	}
	noContent(w)
	return nil
}
