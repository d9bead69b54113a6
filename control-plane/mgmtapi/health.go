package mgmtapi

import (
	"fmt"
	"net/http"
	"strings"

	pb "github.com/warrenmq/warren/api/provisionpb"
)

// RabbitMQ 3.10's health checks (e2e/testdata/rabbitmq-3.10): 200
// {"status":"ok"} when the check passes, 503 with "failed" and a reason
// when it does not.

type healthOK struct {
	Status string `json:"status"`
}

type healthFailed struct {
	Status string  `json:"status"`
	Reason string  `json:"reason"`
	Alarms []Alarm `json:"alarms,omitempty"`
}

var errNoVHostAccess = &apiError{http.StatusUnauthorized, "not_authorised", "User not authorised to access virtual host"}

func (a *API) healthRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/healthchecks/node", anyManagement, a.nodeHealth)
	a.handle(mux, "GET /api/health/checks/alarms", anyManagement, a.alarmsHealth("There are alarms in effect in the cluster"))
	// The deployment is the one node its clients see, so its alarms are
	// the node's.
	a.handle(mux, "GET /api/health/checks/local-alarms", anyManagement, a.alarmsHealth("There are alarms in effect on the node"))
	// Virtual hosts are records in the topology, never down on their own.
	a.handle(mux, "GET /api/health/checks/virtual-hosts", anyManagement, healthy)
	a.handle(mux, "GET /api/aliveness-test/{vhost}", anyManagement, a.aliveness)
}

func healthy(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, healthOK{"ok"})
	return nil
}

// nodeHealth fails, as RabbitMQ's, while a resource alarm is in effect.
func (a *API) nodeHealth(w http.ResponseWriter, r *http.Request, c *caller) error {
	alarms, err := a.alarms(c.ctx)
	if err != nil {
		return err
	}
	if len(alarms) == 0 {
		return healthy(w, r, c)
	}
	terms := make([]string, len(alarms))
	for i, al := range alarms {
		terms[i] = fmt.Sprintf("{resource_limit,%s,%s}", al.Resource, al.Node)
	}
	writeJSON(w, http.StatusServiceUnavailable, healthFailed{Status: "failed",
		Reason: "resource alarm(s) in effect:[" + strings.Join(terms, ",") + "]"})
	return nil
}

func (a *API) alarmsHealth(reason string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		alarms, err := a.alarms(c.ctx)
		if err != nil {
			return err
		}
		if len(alarms) == 0 {
			return healthy(w, r, c)
		}
		writeJSON(w, http.StatusServiceUnavailable, healthFailed{Status: "failed", Reason: reason, Alarms: alarms})
		return nil
	}
}

// aliveness answers RabbitMQ's aliveness test for a vhost the caller may
// use. RabbitMQ publishes to and gets from a queue there; Warren checks
// what the control plane holds (the vhost, the caller's access), since it
// has no AMQP path of its own to the storage nodes.
func (a *API) aliveness(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if _, err := a.svc.GetVHost(c.ctx, &pb.GetVHostRequest{Instance: c.inst, Vhost: vhost}); err != nil {
		return err
	}
	if _, ok := a.permission(c, vhost); !ok {
		return errNoVHostAccess
	}
	return healthy(w, r, c)
}
