package e2e

// The management API's channels, consumers, nodes and health checks, with
// the shapes RabbitMQ 3.10.8 gave for the same calls (recorded in
// testdata/rabbitmq-3.10 with a connection holding a consuming channel
// and a confirm channel, as here).

import (
	"net/url"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// nodeFigures are the fields of RabbitMQ's node that measure its Erlang VM
// and Mnesia (memory, descriptors, processes, I/O, churn counters), which
// Warren's node, standing for a whole deployment, does not report.
func nodeFigure(key string) bool {
	for _, p := range []string{"io_", "gc_", "mnesia_", "msg_store_", "queue_index_", "proc_", "fd_", "sockets_",
		"mem_used", "mem_limit", "mem_calculation", "disk_free_limit", "connection_c", "channel_c", "queue_c",
		"queue_de", "context_switches", "run_queue", "processors", "os_pid", "db_dir", "ra_open_file",
		"metrics_gc_queue_length"} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return strings.HasSuffix(key, "_details") || key == "disk_free"
}

// withoutNodeFigures drops nodeFigures from a recorded node or node list.
func withoutNodeFigures(v any) any {
	switch v := v.(type) {
	case []any:
		for _, n := range v {
			withoutNodeFigures(n)
		}
	case map[string]any:
		for k := range v {
			if nodeFigure(k) {
				delete(v, k)
			}
		}
	}
	return v
}

func TestManagementAPIChannelsAndConsumers(t *testing.T) {
	pending(t)
	tn, api := mgmtTenant(t)
	conn := dialProvisioned(t, tn.url(t, 1, "app", "s3cret", "prod"))
	consuming := openChannel(t, conn)
	if err := consuming.Qos(10, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := consuming.Consume("orders.new", "ctag-1", false, false, false, false, amqp.Table{"x-priority": int32(5)}); err != nil {
		t.Fatal(err)
	}
	if err := openChannel(t, conn).Confirm(false); err != nil {
		t.Fatal(err)
	}
	var chs []any
	waitFor(t, func() bool { chs = api.get(t, "/api/channels").([]any); return len(chs) == 2 }, rpcTimeout,
		"the connection's 2 channels in /api/channels")
	for file, got := range map[string]any{"channels": chs, "consumers": api.get(t, "/api/consumers")} {
		if diffs := sameShape(file, got, recorded(t, file)); len(diffs) > 0 {
			t.Errorf("GET /api/%s differs from RabbitMQ 3.10.8's:\n  %s", file, strings.Join(diffs, "\n  "))
		}
	}
	first := chs[0].(map[string]any)
	if first["number"] != 1.0 || first["prefetch_count"] != 10.0 || first["consumer_count"] != 1.0 || first["vhost"] != "prod" ||
		first["user"] != "app" || chs[1].(map[string]any)["confirm"] != true {
		t.Errorf("channels %v", chs)
	}
	cons := api.get(t, "/api/consumers/prod").([]any)
	if len(cons) != 1 {
		t.Fatalf("consumers in prod: %v, want ctag-1", cons)
	}
	c := cons[0].(map[string]any)
	if c["consumer_tag"] != "ctag-1" || c["prefetch_count"] != 10.0 || c["ack_required"] != true ||
		c["queue"].(map[string]any)["name"] != "orders.new" || c["arguments"].(map[string]any)["x-priority"] != 5.0 ||
		c["channel_details"].(map[string]any)["name"] != first["name"] {
		t.Errorf("consumer %v", c)
	}
	one := api.get(t, "/api/channels/"+url.PathEscape(first["name"].(string))).(map[string]any)
	if one["name"] != first["name"] {
		t.Errorf("GET the channel: %v", one)
	}
	if got := api.get(t, "/api/consumers/%2F").([]any); len(got) != 0 {
		t.Errorf("consumers in /: %v, want none", got)
	}
}

func TestManagementAPINodesAndHealth(t *testing.T) {
	pending(t)
	_, api := mgmtTenant(t)
	for file, path := range map[string]string{
		"nodes": "/api/nodes", "healthcheck-node": "/api/healthchecks/node", "aliveness-test": "/api/aliveness-test/prod",
	} {
		want := withoutNodeFigures(recorded(t, file))
		if diffs := sameShape(file, api.get(t, path), want); len(diffs) > 0 {
			t.Errorf("GET %s differs from RabbitMQ 3.10.8's:\n  %s", path, strings.Join(diffs, "\n  "))
		}
	}
	nodes := api.get(t, "/api/nodes").([]any)
	name := nodes[0].(map[string]any)["name"].(string)
	if diffs := sameShape("node", api.get(t, "/api/nodes/"+url.PathEscape(name)), withoutNodeFigures(recorded(t, "node"))); len(diffs) > 0 {
		t.Errorf("GET /api/nodes/%s differs from RabbitMQ 3.10.8's:\n  %s", name, strings.Join(diffs, "\n  "))
	}
	for _, path := range []string{"/api/health/checks/alarms", "/api/health/checks/local-alarms", "/api/health/checks/virtual-hosts"} {
		if got := api.get(t, path).(map[string]any); got["status"] != "ok" {
			t.Errorf("GET %s: %v, want ok (no alarm in effect)", path, got)
		}
	}
	if status, _ := api.do(t, "GET", "/api/aliveness-test/nope", ""); status != 404 {
		t.Errorf("aliveness of an unknown vhost: %d, want 404", status)
	}
}
