package mgmtapi

import (
	"encoding/json"
	"testing"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/storage"
)

// TestMessageStatsGroups: RabbitMQ shows a group of figures only once it
// has samples of it.
func TestMessageStatsGroups(t *testing.T) {
	const deliverGroup = `"ack":1,"ack_details":{"rate":0.2},"deliver":2,"deliver_details":{"rate":0.4},` +
		`"deliver_get":10,"deliver_get_details":{"rate":2},"deliver_no_ack":1,"deliver_no_ack_details":{"rate":0},` +
		`"get":3,"get_details":{"rate":1},"get_empty":0,"get_empty_details":{"rate":0},` +
		`"get_no_ack":4,"get_no_ack_details":{"rate":0.6},"redeliver":0,"redeliver_details":{"rate":0}`
	for _, tc := range []struct {
		name string
		st   *pb.QueueStats
		want string
	}{
		{"no events", &pb.QueueStats{MessagesReady: 3}, `{}`},
		{"no stats", nil, `{}`},
		{"published only", &pb.QueueStats{Publish: 5, PublishRate: 1.5}, `{"publish":5,"publish_details":{"rate":1.5}}`},
		{"handed out only", &pb.QueueStats{Deliver: 2, DeliverRate: 0.4, DeliverNoAck: 1, Get: 3, GetRate: 1,
			GetNoAck: 4, GetNoAckRate: 0.6, Ack: 1, AckRate: 0.2}, `{` + deliverGroup + `}`},
		{"an empty get", &pb.QueueStats{GetEmpty: 1}, `{"ack":0,"ack_details":{"rate":0},"deliver":0,"deliver_details":{"rate":0},` +
			`"deliver_get":0,"deliver_get_details":{"rate":0},"deliver_no_ack":0,"deliver_no_ack_details":{"rate":0},` +
			`"get":0,"get_details":{"rate":0},"get_empty":1,"get_empty_details":{"rate":0},` +
			`"get_no_ack":0,"get_no_ack_details":{"rate":0},"redeliver":0,"redeliver_details":{"rate":0}}`},
	} {
		b, err := json.Marshal(flowsOf(tc.st).messageStats())
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, b, tc.want)
		}
	}
}

// TestQueueAndOverviewMessageStats: a queue's message_stats are its
// storage node's counts and rates, absent before any event; the
// overview's sum those of the queues the caller may see.
func TestQueueAndOverviewMessageStats(t *testing.T) {
	s := newServer(t)
	ops, app := "acme:ops/pw", "acme:app/pw" // app sees / only
	for _, r := range []req{
		{name: "vhost", method: "PUT", path: "/api/vhosts/prod", user: ops, body: `{}`, status: 201},
		{name: "ops in prod", method: "PUT", path: "/api/permissions/prod/ops", user: ops, body: `{"configure":".*","write":".*","read":".*"}`, status: 201},
		{name: "queue in /", method: "PUT", path: "/api/queues/%2F/app.q", user: ops, body: `{}`, status: 201},
		{name: "queue in prod", method: "PUT", path: "/api/queues/prod/q", user: ops, body: `{}`, status: 201},
	} {
		s.do(t, r)
	}
	if q := s.getJSON(t, "/api/queues/%2F/app.q", app); q["message_stats"] != nil {
		t.Errorf("message_stats before any event: %v", q["message_stats"])
	}
	s.node.mu.Lock()
	s.node.counts = storage.MessageCounts{Publish: 10, Deliver: 7, Ack: 6}
	s.node.rates = storage.MessageRates{Publish: 2, Deliver: 1.4, Ack: 1.2}
	s.node.mu.Unlock()
	ms, _ := s.getJSON(t, "/api/queues/%2F/app.q", app)["message_stats"].(map[string]any)
	if ms["publish"] != 10.0 || ms["deliver_get"] != 7.0 || ms["ack"] != 6.0 ||
		ms["publish_details"].(map[string]any)["rate"] != 2.0 {
		t.Errorf("queue message_stats %v", ms)
	}
	for user, want := range map[string][2]float64{app: {10, 1.4}, ops: {20, 2.8}} {
		o := s.getJSON(t, "/api/overview", user)
		ms, _ := o["message_stats"].(map[string]any)
		if o["rates_mode"] != "basic" || ms["publish"] != want[0] || ms["deliver_get_details"].(map[string]any)["rate"] != want[1] {
			t.Errorf("overview as %s: rates_mode %v, message_stats %v; want publish %v, deliver_get rate %v",
				user, o["rates_mode"], ms, want[0], want[1])
		}
	}
}

func (s *server) getJSON(t *testing.T, path, user string) map[string]any {
	t.Helper()
	_, b := s.do(t, req{name: "get", method: "GET", path: path, user: user, status: 200})
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}
