package mgmtapi

import (
	"context"
	"net/http"
	"time"
)

// Alarm is a resource alarm in effect on a storage node, as RabbitMQ's
// health checks list it: resource is "memory" or "disk".
type Alarm struct {
	Node     string `json:"node"`
	Resource string `json:"resource"`
}

// Alarms reports the alarms in effect across the deployment.
type Alarms func(ctx context.Context) ([]Alarm, error)

var errNotMonitor = &apiError{http.StatusUnauthorized, "not_authorised", "Not monitor user"}

func monitorOnly(c *caller) error {
	if !c.monitor() {
		return errNotMonitor
	}
	return nil
}

type authMechanism struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
}

// nodeJSON is a node as RabbitMQ 3.10's GET /api/nodes shows it, without
// the Erlang VM's figures (memory, file descriptors, processes, I/O,
// Mnesia) which have no meaning for Warren's processes.
type nodeJSON struct {
	Name           string           `json:"name"`
	Type           string           `json:"type"`
	Running        bool             `json:"running"`
	Uptime         int64            `json:"uptime"` // milliseconds
	MemAlarm       bool             `json:"mem_alarm"`
	DiskFreeAlarm  bool             `json:"disk_free_alarm"`
	Partitions     []string         `json:"partitions"`
	ClusterLinks   []any            `json:"cluster_links"`
	RatesMode      string           `json:"rates_mode"`
	ExchangeTypes  []exchangeType   `json:"exchange_types"`
	AuthMechanisms []authMechanism  `json:"auth_mechanisms"`
	Applications   []any            `json:"applications"`
	Contexts       []map[string]any `json:"contexts"`
	EnabledPlugins []string         `json:"enabled_plugins"`
	LogFiles       []string         `json:"log_files"`
	ConfigFiles    []string         `json:"config_files"`
	NetTicktime    int              `json:"net_ticktime"`
}

func (a *API) nodeRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/nodes", monitorOnly, func(w http.ResponseWriter, r *http.Request, c *caller) error {
		n, err := a.node(c.ctx)
		if err == nil {
			writeJSON(w, http.StatusOK, []nodeJSON{n})
		}
		return err
	})
	a.handle(mux, "GET /api/nodes/{name}", monitorOnly, func(w http.ResponseWriter, r *http.Request, c *caller) error {
		if pathValue(r, "name") != a.opts.Node {
			return errNotFound
		}
		n, err := a.node(c.ctx)
		if err == nil {
			writeJSON(w, http.StatusOK, n)
		}
		return err
	})
}

// node describes the deployment as the one node RabbitMQ clients see
// (the overview's node): the gateways, storage nodes and control plane
// behind it are Warren's business. Its alarms are any storage node's, as
// alarms block publishers cluster-wide.
func (a *API) node(ctx context.Context) (nodeJSON, error) {
	alarms, err := a.alarms(ctx)
	if err != nil {
		return nodeJSON{}, err
	}
	n := nodeJSON{Name: a.opts.Node, Type: "disc", Running: true, Uptime: time.Since(a.started).Milliseconds(),
		Partitions: []string{}, ClusterLinks: []any{}, RatesMode: "basic", ExchangeTypes: exchangeTypes,
		AuthMechanisms: []authMechanism{{"PLAIN", "SASL PLAIN authentication mechanism", true},
			{"AMQPLAIN", "QPid AMQPLAIN mechanism", true}},
		Applications: []any{}, Contexts: []map[string]any{}, EnabledPlugins: []string{"rabbitmq_management"},
		LogFiles: []string{}, ConfigFiles: []string{}, NetTicktime: 60}
	for _, al := range alarms {
		n.MemAlarm = n.MemAlarm || al.Resource == "memory"
		n.DiskFreeAlarm = n.DiskFreeAlarm || al.Resource == "disk"
	}
	return n, nil
}

// alarms asks Options.Alarms; none when it is not set.
func (a *API) alarms(ctx context.Context) ([]Alarm, error) {
	if a.opts.Alarms == nil {
		return nil, nil
	}
	al, err := a.opts.Alarms(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	return al, nil
}
