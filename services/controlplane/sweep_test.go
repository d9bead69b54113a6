package controlplane

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

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

// The records are reread when a gateway is lost, not at every sweep.
func TestSeatsSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	both, one := map[string]bool{"a": true, "b": true}, map[string]bool{"a": true}
	var s seatsSchedule
	steps := []struct {
		at   time.Duration
		up   map[string]bool
		ok   bool // the reading, when due, succeeds
		want bool
	}{
		{0, both, true, true},                // the first sweep
		{2 * time.Second, both, true, false}, // nothing lost
		{4 * time.Second, one, false, true},  // b lost; the reading fails
		{6 * time.Second, one, true, true},   // so b is still lost
		{8 * time.Second, one, true, false},
		{10 * time.Second, both, true, false},              // b is back: a new gateway
		{12 * time.Second, one, true, true},                // seen since the reading, now lost
		{12*time.Second + seatsFullSweep, one, true, true}, // the periodic reading
	}
	for i, st := range steps {
		now := t0.Add(st.at)
		got := s.due(st.up, now)
		if got != st.want {
			t.Fatalf("step %d: due %v, want %v", i+1, got, st.want)
		}
		if got && st.ok {
			s.done(st.up, now)
		}
	}
}
