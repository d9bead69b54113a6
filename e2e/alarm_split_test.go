package e2e

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// alarmClearBound is how soon the publishers of every gateway must be
// unblocked once the storage node with the alarm stops: it deregisters, and
// gateways reread the registry every second through a one-second cache.
const alarmClearBound = 5 * time.Second

// TestStorageNodeAlarmBlocksEveryGateway (split deployment only): alarms are
// cluster-wide, as in RabbitMQ. A storage node started with a disk-free
// limit no disk meets raises its disk alarm, and publishers on both
// gateways get connection.blocked "low on disk"; once that node stops, they
// get connection.unblocked and their publishes are confirmed again.
//
// The extra node is in the registry while the test runs, and placement
// prefers the node with the fewest queues: the test declares nothing, so
// no queue other tests use lands on it.
func TestStorageNodeAlarmBlocksEveryGateway(t *testing.T) {
	pending(t)
	if !splitShape() || usingExternalBroker() {
		t.Skip("needs the split deployment (E2E_SHAPE=split)")
	}
	brokerURL(t) // starts the deployment
	d := suite.split
	type publisher struct {
		ch      *amqp.Channel
		blocked chan amqp.Blocking
		confirm chan amqp.Confirmation
	}
	var pubs []publisher
	for _, u := range d.gateways {
		conn := dialURL(t, u)
		p := publisher{blocked: conn.NotifyBlocked(make(chan amqp.Blocking, 4)), ch: openChannel(t, conn)}
		if err := p.ch.Confirm(false); err != nil {
			t.Fatal(err)
		}
		p.confirm = p.ch.NotifyPublish(make(chan amqp.Confirmation, 64))
		pubs = append(pubs, p)
	}
	// Started after the connections, so that its cleanup, which runs first,
	// unblocks them before they close (a blocked connection is not read).
	node := startAlarmedStorageNode(t, d)

	// Unroutable publishes through the default exchange: nothing is stored.
	key := uniqueName(t, "nowhere")
	for i, p := range pubs {
		deadline := time.Now().Add(15 * time.Second)
		var b amqp.Blocking
		for got := false; !got; {
			if time.Now().After(deadline) {
				t.Fatalf("gateway %d: no connection.blocked within 15s of the alarmed node's start:\n%s", i+1, node.output.String())
			}
			if err := p.ch.Publish("", key, false, false, text("x")); err != nil {
				t.Fatalf("gateway %d: publish: %v", i+1, err)
			}
			select {
			case b = <-p.blocked:
				got = true
			case <-time.After(300 * time.Millisecond):
			}
		}
		if !b.Active || b.Reason != "low on disk" {
			t.Fatalf("gateway %d: blocking %+v, want active with reason %q", i+1, b, "low on disk")
		}
	}

	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	for i, p := range pubs {
		select {
		case b := <-p.blocked:
			if b.Active {
				t.Fatalf("gateway %d: got %+v, want connection.unblocked", i+1, b)
			}
		case <-time.After(alarmClearBound - time.Since(stopped)):
			t.Fatalf("gateway %d: no connection.unblocked within %v of the alarmed node's SIGTERM", i+1, alarmClearBound)
		}
	}
	t.Logf("unblocked %v after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	for i, p := range pubs {
		// The publishes held while blocked go through now, then this one.
		if err := p.ch.Publish("", key, false, false, text("after")); err != nil {
			t.Fatalf("gateway %d: publish after unblocking: %v", i+1, err)
		}
		awaitLastConfirm(t, p.ch, p.confirm)
	}
}

// awaitLastConfirm waits for the confirm of the channel's latest publish.
func awaitLastConfirm(t *testing.T, ch *amqp.Channel, confirms <-chan amqp.Confirmation) {
	t.Helper()
	last := ch.GetNextPublishSeqNo() - 1
	deadline := time.After(rpcTimeout)
	for {
		select {
		case c := <-confirms:
			if !c.Ack {
				t.Fatalf("publish %d nacked", c.DeliveryTag)
			}
			if c.DeliveryTag >= last {
				return
			}
		case <-deadline:
			t.Fatalf("publish %d not confirmed within %v", last, rpcTimeout)
		}
	}
}

// startAlarmedStorageNode starts a third storage node in d's NATS whose
// disk-free limit (10^18 bytes) raises its disk alarm at once; it is killed
// when the test ends if it still runs.
func startAlarmedStorageNode(t *testing.T, d *splitDeployment) *splitProc {
	t.Helper()
	dir := t.TempDir() // removed after the node is gone: cleanups run last first
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"storage-node", "--data-dir", filepath.Join(dir, "sn-alarm"), "--grpc-addr", addr,
		"--nats-url", d.natsURL, "--name", "sn-alarm", "--disk-free-limit", "1000000000000000000",
		"--gateway-timeout", splitGatewayTimeout.String()}
	p, err := startSplitProc(d.procs[0].bin, "storage-node-alarm", args, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}
