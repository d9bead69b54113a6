package mgmtapi

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	pb "github.com/warrenmq/warren/api/provisionpb"
)

// Version is the RabbitMQ version whose management API this one answers
// as; tools that gate features on it see what they may use.
const Version = "3.10.8"

type rate struct {
	Rate float64 `json:"rate"`
}

type exchangeType struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
}

var exchangeTypes = []exchangeType{
	{"direct", "AMQP direct exchange, as per the AMQP specification", true},
	{"fanout", "AMQP fanout exchange, as per the AMQP specification", true},
	{"headers", "AMQP headers exchange, as per the AMQP specification", true},
	{"topic", "AMQP topic exchange, as per the AMQP specification", true},
}

type queueTotals struct {
	Messages              uint64 `json:"messages"`
	MessagesDetails       rate   `json:"messages_details"`
	MessagesReady         uint64 `json:"messages_ready"`
	MessagesReadyDetails  rate   `json:"messages_ready_details"`
	MessagesUnacked       uint64 `json:"messages_unacknowledged"`
	MessagesUnackedDetail rate   `json:"messages_unacknowledged_details"`
}

type objectTotals struct {
	Channels    int `json:"channels"`
	Connections int `json:"connections"`
	Consumers   int `json:"consumers"`
	Exchanges   int `json:"exchanges"`
	Queues      int `json:"queues"`
}

type listener struct {
	Node       string         `json:"node"`
	Protocol   string         `json:"protocol"`
	IPAddress  string         `json:"ip_address"`
	Port       int            `json:"port"`
	SocketOpts map[string]any `json:"socket_opts"`
}

type overview struct {
	ManagementVersion string           `json:"management_version"`
	RatesMode         string           `json:"rates_mode"`
	SampleRetention   map[string][]int `json:"sample_retention_policies"`
	ExchangeTypes     []exchangeType   `json:"exchange_types"`
	ProductVersion    string           `json:"product_version"`
	ProductName       string           `json:"product_name"`
	RabbitMQVersion   string           `json:"rabbitmq_version"`
	ClusterName       string           `json:"cluster_name"`
	ErlangVersion     string           `json:"erlang_version"`
	ErlangFullVersion string           `json:"erlang_full_version"`
	ReleaseSupport    string           `json:"release_series_support_status"`
	DisableStats      bool             `json:"disable_stats"`
	EnableQueueTotals bool             `json:"enable_queue_totals"`
	MessageStats      map[string]any   `json:"message_stats"`
	ChurnRates        map[string]any   `json:"churn_rates"`
	QueueTotals       queueTotals      `json:"queue_totals"`
	ObjectTotals      objectTotals     `json:"object_totals"`
	StatisticsDBQueue int              `json:"statistics_db_event_queue"`
	Node              string           `json:"node"`
	Listeners         []listener       `json:"listeners"`
	Contexts          []map[string]any `json:"contexts"`
}

type whoami struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

func (a *API) overviewRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/overview", anyManagement, a.overview)
	a.handle(mux, "GET /api/whoami", anyManagement, func(w http.ResponseWriter, _ *http.Request, c *caller) error {
		writeJSON(w, http.StatusOK, whoami{Name: c.user.Name, Tags: orEmpty(c.user.Tags)})
		return nil
	})
}

// sampleRetention is RabbitMQ's default, reported for tools that read it.
var sampleRetention = map[string][]int{"global": {600, 3600, 28800, 86400}, "basic": {600, 3600}, "detailed": {600}}

// overview totals what the caller may see, as RabbitMQ's does. Its
// message_stats sum the queues' (the storage nodes measure rates:
// "rates_mode": "basic"); churn_rates are not measured and empty.
func (a *API) overview(w http.ResponseWriter, r *http.Request, c *caller) error {
	o := overview{ManagementVersion: Version, RatesMode: "basic", SampleRetention: sampleRetention, ExchangeTypes: exchangeTypes,
		ProductVersion: Version, ProductName: "Warren", RabbitMQVersion: Version, ClusterName: a.opts.Node,
		ErlangVersion: "n/a", ChurnRates: map[string]any{}, Node: a.opts.Node,
		Listeners: []listener{{Node: a.opts.Node, Protocol: "amqp", IPAddress: "::", Port: a.opts.AMQPPort,
			SocketOpts: socketOpts()}},
		Contexts: []map[string]any{}}
	if err := a.totals(c, &o); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (a *API) totals(c *caller, o *overview) error {
	qs, err := a.svc.ListQueues(c.ctx, &pb.ListQueuesRequest{Instance: c.inst})
	if err != nil {
		return err
	}
	var sum flows
	for _, q := range qs.GetQueues() {
		if !a.canSee(c, q.GetVhost()) {
			continue
		}
		st := q.GetStats()
		sum.add(flowsOf(st))
		o.ObjectTotals.Queues++
		o.ObjectTotals.Consumers += int(st.GetConsumers())
		o.QueueTotals.MessagesReady += st.GetMessagesReady()
		o.QueueTotals.MessagesUnacked += st.GetMessagesUnacknowledged()
	}
	o.QueueTotals.Messages = o.QueueTotals.MessagesReady + o.QueueTotals.MessagesUnacked
	o.MessageStats = sum.messageStats()
	xs, err := a.svc.ListExchanges(c.ctx, &pb.ListExchangesRequest{Instance: c.inst})
	if err != nil {
		return err
	}
	for _, x := range xs.GetExchanges() {
		if a.canSee(c, x.GetVhost()) {
			o.ObjectTotals.Exchanges++
		}
	}
	conns, err := a.connections(c)
	o.ObjectTotals.Connections = len(conns)
	for _, cn := range conns {
		o.ObjectTotals.Channels += cn.Channels
	}
	return err
}

func orEmpty(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// socketOpts are the AMQP listener's socket options as Go sets them:
// TCP_NODELAY on every connection, no linger, and the kernel's
// somaxconn as the listen backlog (read once, when first asked).
var socketOpts = sync.OnceValue(func() map[string]any {
	return map[string]any{"backlog": listenBacklog(), "nodelay": true, "linger": []any{false, 0}, "exit_on_close": false}
})

// listenBacklog is the backlog Go's net.Listen asks for on Linux.
func listenBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 128
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 128
	}
	return n
}
