package e2e

// Message counts and rates: what a real client publishes, consumes,
// requeues and acks shows in the management API's message_stats (each
// queue's and the overview's) and in the provisioning API's queue stats.
// Skips against an external broker.

import (
	"context"
	"fmt"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestQueueMessageStats(t *testing.T) {
	pending(t)
	const n = 20
	tn, api := mgmtTenant(t)
	ch := openChannel(t, dialProvisioned(t, tn.url(t, 0, "guest", "guest", "/")))
	if _, err := ch.QueueDeclare("rates.q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "rates.q", false, false,
			amqp.Publishing{Body: []byte(fmt.Sprint(i))})
		if err != nil || !dc.Wait() {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	consumeAndAck(t, ch, "rates.q", n)

	// Acks travel on without an answer: wait until the node counted them.
	var ms map[string]any
	waitFor(t, func() bool {
		ms, _ = api.get(t, "/api/queues/%2F/rates.q").(map[string]any)["message_stats"].(map[string]any)
		return ms["ack"] == float64(n)
	}, rpcTimeout, "the acks in message_stats (last: %v)", &ms)
	for key, want := range map[string]float64{"publish": n, "deliver": n + 1, "deliver_get": n + 1,
		"deliver_no_ack": 0, "get": 0, "redeliver": 1, "ack": n} {
		if ms[key] != want {
			t.Errorf("message_stats.%s = %v, want %v (all: %v)", key, ms[key], want, ms)
		}
		if _, ok := ms[key+"_details"].(map[string]any)["rate"].(float64); !ok {
			t.Errorf("message_stats.%s_details has no rate: %v", key, ms)
		}
	}
	o := api.get(t, "/api/overview").(map[string]any)
	if sum, _ := o["message_stats"].(map[string]any); o["rates_mode"] != "basic" || sum["publish"] != float64(n) {
		t.Errorf("overview: rates_mode %v, message_stats %v; want basic and the queue's %d publishes", o["rates_mode"], sum, n)
	}

	q := tn.api.call(t, tn.api.token, "GET", tn.path("/queues/%2F/rates.q"), "").must(t, "read queue", 200).body
	st, _ := q["stats"].(map[string]any)
	for key, want := range map[string]string{"publish": fmt.Sprint(n), "deliver": fmt.Sprint(n + 1), "redeliver": "1",
		"ack": fmt.Sprint(n), "get": "0"} {
		if st[key] != want {
			t.Errorf("REST stats.%s = %v, want %s (all: %v)", key, st[key], want, st)
		}
	}
	if _, ok := st["publish_rate"].(float64); !ok {
		t.Errorf("REST stats without publish_rate: %v", st)
	}
}

// consumeAndAck takes the queue's n messages, requeues the first once
// (it comes back redelivered) and acks every one.
func consumeAndAck(t *testing.T, ch *amqp.Channel, queue string, n int) {
	t.Helper()
	ds := consume(t, ch, queue, "", false, nil)
	for acked := 0; acked < n; {
		d := recv(t, ds)
		if d.Body[0] == '0' && !d.Redelivered {
			if err := d.Nack(false, true); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
		acked++
	}
}
