package e2e

// Policies made over the provisioning API apply to the queues and
// exchanges that exist, as RabbitMQ applies a policy change (docs/policies.md,
// docs/maxlength, docs/ttl.md, docs/dlx.md, docs/ae.md): a length limit
// trims a queue already over it, a message TTL expires what is queued, a
// dead-letter exchange and an alternate exchange take the next message.
// Runs in both shapes: in the split one the storage nodes apply queue
// policies in their own processes.

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// policyWait bounds how long a policy may take to reach the queues and
// gateways: a second is the aim, the rest is a loaded machine's slack.
const policyWait = 15 * time.Second

func (tn tenant) policy(t *testing.T, name, body string) {
	t.Helper()
	tn.api.call(t, tn.api.token, "PUT", tn.path("/policies/%2F/"+url.PathEscape(name)), body).must(t, "put policy "+name, 200)
}

func (tn tenant) deletePolicy(t *testing.T, name string) {
	t.Helper()
	tn.api.call(t, tn.api.token, "DELETE", tn.path("/policies/%2F/"+url.PathEscape(name)), "").must(t, "delete policy "+name, 200)
}

// policyTenant is an instance whose user app may do anything in "/", and
// a confirm channel of app's.
func policyTenant(t *testing.T) (tenant, *amqp.Channel) {
	t.Helper()
	tn := newTenant(t, `{}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	return tn, confirmOn(t, dialProvisioned(t, tn.url(t, 0, "app", "pw", "/")))
}

// deadQueue declares a fanout exchange and a queue bound to it, named after it.
func deadQueue(t *testing.T, ch *amqp.Channel, name string) {
	t.Helper()
	declareExchange(t, ch, name, "fanout", nil)
	declareQueue(t, ch, name, nil)
	bindQueue(t, ch, name, "", name, nil)
}

func TestPolicyMaxLengthTrimsLive(t *testing.T) {
	pending(t)
	tn, ch := policyTenant(t)
	deadQueue(t, ch, "dead")
	declareQueue(t, ch, "pol.len", nil)
	publishBodies(t, ch, "pol.len", "m1", "m2", "m3", "m4", "m5")

	tn.policy(t, "len", `{"pattern":"^pol\\.len$","apply_to":"queues","definition":{"max-length":2,"dead-letter-exchange":"dead"}}`)
	waitCountWithin(t, ch, "dead", 3, policyWait)
	waitCountWithin(t, ch, "pol.len", 2, policyWait)
	if got := drainBodies(t, ch, "dead"); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Errorf("dead-lettered %v, want the oldest three", got)
	}
	publishBodies(t, ch, "pol.len", "m6")
	if got := drainBodies(t, ch, "pol.len"); !slices.Equal(got, []string{"m5", "m6"}) {
		t.Errorf("kept %v, want the newest two", got)
	}

	// Deleted, the limit goes: the queue grows past it again.
	tn.deletePolicy(t, "len")
	n := 0
	waitFor(t, func() bool {
		publishBodies(t, ch, "pol.len", "more")
		n = messageCount(t, ch, "pol.len")
		return n > 2
	}, policyWait, "the queue to pass the deleted policy's limit (last count %d)", &n)
}

func TestPolicyMessageTTLExpiresIntoDLX(t *testing.T) {
	pending(t)
	tn, ch := policyTenant(t)
	deadQueue(t, ch, "dead")
	deadQueue(t, ch, "policy-dlx")
	// The argument's dead-letter exchange wins over the policy's.
	declareQueue(t, ch, "pol.ttl", amqp.Table{"x-dead-letter-exchange": "dead"})
	publishBodies(t, ch, "pol.ttl", "before")

	tn.policy(t, "ttl", `{"pattern":"^pol\\.ttl$","definition":{"message-ttl":100,"dead-letter-exchange":"policy-dlx"}}`)
	// Published after the policy, or queued already: both expire.
	publishBodies(t, ch, "pol.ttl", "after")
	waitCountWithin(t, ch, "dead", 2, policyWait)
	if n := messageCount(t, ch, "pol.ttl"); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
	d := getOne(t, ch, "dead", true)
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) == 0 {
		t.Fatalf("dead letter without x-death: %v", d.Headers)
	}
	if death, _ := deaths[0].(amqp.Table); death["reason"] != "expired" || death["queue"] != "pol.ttl" {
		t.Errorf("x-death %v, want reason expired from pol.ttl", death)
	}
	expectEmpty(t, ch, "policy-dlx")
}

func TestPolicyAlternateExchange(t *testing.T) {
	pending(t)
	tn, ch := policyTenant(t)
	deadQueue(t, ch, "unrouted")
	declareExchange(t, ch, "pol.x", "direct", nil)
	returns := ch.NotifyReturn(make(chan amqp.Return, 16))
	if !publishConfirm(t, ch, "pol.x", "nowhere", true, text("lost")) {
		t.Fatal("nacked")
	}
	select {
	case <-returns:
	case <-time.After(rpcTimeout):
		t.Fatal("an unroutable mandatory publish was not returned")
	}

	tn.policy(t, "ae", `{"pattern":"^pol\\.x$","apply_to":"exchanges","definition":{"alternate-exchange":"unrouted"}}`)
	n := 0
	waitFor(t, func() bool {
		publishConfirmed(t, ch, "pol.x", "nowhere", text("kept"))
		n = messageCount(t, ch, "unrouted")
		return n > 0
	}, policyWait, "the alternate exchange of the policy to take an unroutable message (count %d)", &n)
	if got := getOne(t, ch, "unrouted", true); string(got.Body) != "kept" {
		t.Errorf("alternate exchange got %q", got.Body)
	}
}

// waitCountWithin polls until queue holds want ready messages.
func waitCountWithin(t *testing.T, ch *amqp.Channel, queue string, want int, within time.Duration) {
	t.Helper()
	var got int
	waitFor(t, func() bool { got = messageCount(t, ch, queue); return got == want }, within,
		"queue %s to hold %d messages (last count %d)", queue, want, &got)
}

// A queue declared under a policy has it by declare-ok, as RabbitMQ
// applies policies at declaration: the first publishes already meet its
// limit.
func TestPolicyAppliesAtDeclare(t *testing.T) {
	pending(t)
	tn, ch := policyTenant(t)
	tn.policy(t, "cap", `{"pattern":"^pol\\.new","apply_to":"queues","definition":{"max-length":1,"overflow":"reject-publish"}}`)
	for i := range 5 { // several, as the window it closes is short
		q := fmt.Sprintf("pol.new.%d", i)
		declareQueue(t, ch, q, nil)
		if !publishConfirm(t, ch, "", q, false, text("first")) {
			t.Fatalf("%s: the first message was refused", q)
		}
		if publishConfirm(t, ch, "", q, false, text("second")) {
			t.Fatalf("%s: a message past max-length 1 (reject-publish) was confirmed", q)
		}
	}
}
