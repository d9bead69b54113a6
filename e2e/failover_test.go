package e2e

import (
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// gateway2 is the second gateway's index in splitDeployment.procs.
const gateway2 = 4

// failoverSlack is what a test allows above the deployment's gateway
// timeout: deleting the queues and the registry reads themselves.
const failoverSlack = 2 * time.Second

// TestGatewayKilled (split deployment only): when a gateway is SIGKILLed,
// its clients lose their connection, and the exclusive queues of its
// connections are deleted and its clients' unacked messages go back to
// their queues, flagged redelivered, within the gateway timeout; the other
// gateway's clients see it.
func TestGatewayKilled(t *testing.T) {
	pending(t)
	if !splitShape() || usingExternalBroker() {
		t.Skip("needs the split deployment (E2E_SHAPE=split)")
	}
	brokerURL(t) // starts the deployment
	d := suite.split
	victimConn := dialURL(t, d.gateways[1])
	lost := watchConnClose(victimConn)
	victim := openChannel(t, victimConn)
	if err := victim.Confirm(false); err != nil {
		t.Fatal(err)
	}
	excl, err := victim.QueueDeclare("", false, false, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := declareQueue(t, victim, uniqueName(t, "q"), nil).Name
	publishBodies(t, victim, q, "1", "2", "3")
	ds, err := victim.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		select {
		case <-ds:
		case <-time.After(rpcTimeout):
			t.Fatal("no delivery through gateway 2")
		}
	}

	d.kill(gateway2)
	killed := time.Now()
	defer func() {
		if err := d.restart(gateway2); err != nil {
			t.Errorf("restarting gateway 2: %v", err)
		}
	}()
	if awaitClose(t, lost) == nil {
		t.Fatal("the killed gateway's client was not told its connection is lost")
	}

	bound := splitGatewayTimeout + failoverSlack
	survivor := dialURL(t, d.gateways[0])
	check := openChannel(t, survivor)
	var n int
	waitFor(t, func() bool { n = messageCount(t, check, q); return n == 3 }, bound,
		"the dead gateway's 3 unacked messages back in %s (last count %d)", q, &n)
	requeued := time.Since(killed)
	waitFor(t, func() bool {
		ch, err := survivor.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		_, err = ch.QueueDeclarePassive(excl.Name, false, false, true, false, nil)
		var ae *amqp.Error
		return errors.As(err, &ae) && ae.Code == amqp.NotFound
	}, bound-time.Since(killed), "the dead gateway's exclusive queue %s to be deleted", excl.Name)
	t.Logf("after the kill: requeued in %v, exclusive queue deleted in %v (gateway timeout %v)",
		requeued, time.Since(killed), splitGatewayTimeout)
	d1 := getOne(t, check, q, false)
	if string(d1.Body) != "1" || !d1.Redelivered {
		t.Fatalf("after the gateway died got %q redelivered=%v, want 1 redelivered", d1.Body, d1.Redelivered)
	}
}

// controlPlane is the control plane's index in splitDeployment.procs.
const controlPlane = 0

// TestControlPlaneDown (split deployment only): while the control plane
// (with the NATS server it embeds) is down, publishing on open channels goes
// on, a declare fails quickly with 541 and a clear text, and once the
// control plane is back declares work again and nothing published was lost.
func TestControlPlaneDown(t *testing.T) {
	pending(t)
	if !splitShape() || usingExternalBroker() {
		t.Skip("needs the split deployment (E2E_SHAPE=split)")
	}
	brokerURL(t)
	d := suite.split
	conn := dialURL(t, d.gateways[0])
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, uniqueName(t, "q"), nil).Name

	d.kill(controlPlane)
	restarted := false
	defer func() {
		if !restarted {
			_ = d.restart(controlPlane)
		}
	}()
	for i := 0; i < 5; i++ {
		if err := ch.Publish("", q, false, false, amqp.Publishing{Body: []byte("during")}); err != nil {
			t.Fatalf("publish while the control plane is down: %v", err)
		}
	}
	other := dialURL(t, d.gateways[0])
	declCh := openChannel(t, other)
	start := time.Now()
	_, err := declCh.QueueDeclare(uniqueName(t, "during"), false, false, false, false, nil)
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.InternalError ||
		ae.Reason != "INTERNAL_ERROR - control plane unavailable; topology changes fail until it is back" {
		t.Fatalf("declare while the control plane is down: %v, want 541 control plane unavailable", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the refused declare took %v", took)
	}

	if err := d.restart(controlPlane); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitFor(t, func() bool {
		c, err := amqp.Dial(d.gateways[0])
		if err != nil {
			return false
		}
		defer c.Close()
		ch, err := c.Channel()
		if err != nil {
			return false
		}
		_, err = ch.QueueDeclare(uniqueName(t, "after"), false, false, false, false, nil)
		return err == nil
	}, 30*time.Second, "declares to work again after the control plane restarted")
	waitCount(t, openChannel(t, dialURL(t, d.gateways[0])), q, 5)
}
