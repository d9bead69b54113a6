package controlplane

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/warrenmq/warren/api/connquota"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
)

// The sweep removes the connection counts of a dead gateway, and keeps
// those of a gateway that registered after the sweep read the registry,
// whose first connections would otherwise stop counting.
func TestDropSeatsOfDeadGateways(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, js := natstest.JetStream(t)
	regKV, err := registry.OpenBucket(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	seatsKV, err := connquota.OpenBucket(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	live, err := registry.ForGatewayTimeout(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := registry.Register(ctx, regKV, registry.Entry{Kind: registry.Gateway, Name: "gw-new"}, live.Heartbeat, slog.Default()); err != nil {
		t.Fatal(err)
	}
	for _, gw := range []string{"gw-up", "gw-new", "gw-dead"} {
		if _, err := connquota.NewCounter(seatsKV, gw).Admit(ctx, "acme", 0); err != nil {
			t.Fatal(err)
		}
	}
	up := map[string]bool{"gw-up": true} // as read before gw-new registered
	dropSeats(ctx, seatsKV, regKV, up, live, slog.Default())
	e, err := seatsKV.Get(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var counts connquota.Counts
	if err := json.Unmarshal(e.Value(), &counts); err != nil {
		t.Fatal(err)
	}
	if len(counts) != 2 || counts["gw-up"] != 1 || counts["gw-new"] != 1 {
		t.Fatalf("counts after the sweep %v: want gw-up's and gw-new's, not gw-dead's", counts)
	}
}
