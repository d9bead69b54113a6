package e2e

import (
	"errors"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Split deployment only: an instance's max_connections holds across the
// gateways, as it does across a RabbitMQ cluster's nodes.

// quotaTenant skips unless the suite runs against the split deployment and
// provisions an instance with max_connections max and a user "app".
func quotaTenant(t *testing.T, max string) tenant {
	t.Helper()
	if !splitShape() || usingExternalBroker() {
		t.Skip("needs the split deployment (E2E_SHAPE=split)")
	}
	brokerURL(t) // starts the deployment
	tn := newTenant(t, `{"max_connections":`+max+`}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	return tn
}

const limitReached = "NOT_ALLOWED - access to vhost '/' refused for user 'app': connection limit (3) is reached"

// TestConnectionQuotaAcrossGateways: connections through both gateways
// count against one max_connections; past it either gateway refuses with
// RabbitMQ's 530, and a connection closed on one frees a place on the other.
func TestConnectionQuotaAcrossGateways(t *testing.T) {
	pending(t)
	tn := quotaTenant(t, "3")
	first := dialProvisioned(t, tn.url(t, 0, "app", "pw", "/"))
	dialProvisioned(t, tn.url(t, 1, "app", "pw", "/"))
	dialProvisioned(t, tn.url(t, 1, "app", "pw", "/"))
	dialRefused(t, tn.url(t, 0, "app", "pw", "/"), amqp.NotAllowed, limitReached)
	dialRefused(t, tn.url(t, 1, "app", "pw", "/"), amqp.NotAllowed, limitReached)

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// The place is freed once gateway 1 has counted the close, just after
	// its close-ok.
	dialProvisioned(t, tn.url(t, 1, "app", "pw", "/"))
	dialRefused(t, tn.url(t, 0, "app", "pw", "/"), amqp.NotAllowed, limitReached)
}

// TestConnectionQuotaUnderConcurrentConnects: clients connecting at once
// through both gateways get exactly max_connections connections; every
// other one is refused with the quota's 530.
func TestConnectionQuotaUnderConcurrentConnects(t *testing.T) {
	pending(t)
	tn := quotaTenant(t, "3")
	for gw := range 2 { // both gateways know the instance before the race
		dialProvisioned(t, tn.url(t, gw, "app", "pw", "/")).Close()
	}
	const clients = 12
	var (
		mu      sync.Mutex
		opened  []*amqp.Connection
		refused int
		wg      sync.WaitGroup
	)
	for i := range clients {
		wg.Go(func() {
			conn, err := amqp.Dial(tn.url(t, i%2, "app", "pw", "/"))
			mu.Lock()
			defer mu.Unlock()
			var e *amqp.Error
			switch {
			case err == nil:
				opened = append(opened, conn)
			case errors.As(err, &e) && e.Code == amqp.NotAllowed && e.Reason == limitReached:
				refused++
			default:
				t.Errorf("client %d: %v, want a connection or the quota's refusal", i, err)
			}
		})
	}
	wg.Wait()
	for _, c := range opened {
		defer c.Close()
	}
	if len(opened) != 3 || refused != clients-3 {
		t.Fatalf("%d connections opened and %d refused, want 3 and %d", len(opened), refused, clients-3)
	}
}

// TestConnectionQuotaFreedByKilledGateway: the connections of a gateway
// that was SIGKILLed stop counting within the gateway timeout, as its
// exclusive queues go.
func TestConnectionQuotaFreedByKilledGateway(t *testing.T) {
	pending(t)
	tn := quotaTenant(t, "3")
	d := suite.split
	for range 3 {
		dialProvisioned(t, tn.url(t, 1, "app", "pw", "/"))
	}
	dialRefused(t, tn.url(t, 0, "app", "pw", "/"), amqp.NotAllowed, limitReached)
	d.kill(gateway2)
	defer func() {
		if err := d.restart(gateway2); err != nil {
			t.Errorf("restarting gateway 2: %v", err)
		}
	}()
	var err error
	waitFor(t, func() bool {
		var c *amqp.Connection
		if c, err = amqp.Dial(tn.url(t, 0, "app", "pw", "/")); err == nil {
			c.Close()
		}
		return err == nil
	}, splitGatewayTimeout+failoverSlack, "a connection through gateway 1 once gateway 2 is dead (last: %v)", &err)
}

// TestPublishRateSplitAcrossGateways: an instance's max_publish_rate is
// shared by the gateways serving its connections, so publishers on two
// gateways together are paced at the quota, not at twice it.
func TestPublishRateSplitAcrossGateways(t *testing.T) {
	pending(t)
	if !splitShape() || usingExternalBroker() {
		t.Skip("needs the split deployment (E2E_SHAPE=split)")
	}
	brokerURL(t) // starts the deployment
	tn := newTenant(t, `{"max_publish_rate":100}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	// A gateway learns how many serve the instance when it reads its
	// record: gateway 2 at its connection (after gateway 1's first),
	// gateway 1 at its second.
	q := declareQueue(t, tenantChannel(t, dialProvisioned(t, tn.url(t, 0, "app", "pw", "/"))), "paced", nil).Name
	pubs := []*amqp.Connection{dialProvisioned(t, tn.url(t, 1, "app", "pw", "/")), dialProvisioned(t, tn.url(t, 0, "app", "pw", "/"))}
	const n = 200
	start := time.Now()
	var wg sync.WaitGroup
	for _, conn := range pubs {
		ch := confirmOn(t, conn)
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
		wg.Go(func() {
			for i := range n {
				if err := ch.Publish("", q, false, false, text("m")); err != nil {
					t.Errorf("publish %d: %v", i, err)
					return
				}
			}
			for range n {
				<-confirms
			}
		})
	}
	wg.Wait()
	// Each gateway's share is 50/s with a second's burst: 200 messages
	// take 3 s. At the whole quota on each gateway they would take 1 s.
	if elapsed := time.Since(start); elapsed < 2*time.Second {
		t.Errorf("2 × %d messages through two gateways took %v at max_publish_rate 100; want at least 2s", n, elapsed)
	}
	if got := messageCount(t, tenantChannel(t, pubs[0]), q); got != 2*n {
		t.Errorf("%d messages stored, want all %d", got, 2*n)
	}
}
