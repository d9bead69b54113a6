package registry

import (
	"testing"
	"time"
)

func TestForGatewayTimeout(t *testing.T) {
	for _, tc := range []struct {
		bound time.Duration
		want  GatewayLiveness
	}{
		{DefaultGatewayTimeout, GatewayLiveness{Heartbeat: 2 * time.Second, Sweep: 2 * time.Second,
			Stale: 8 * time.Second, PeerIdle: 5 * time.Second, PeerAck: 5 * time.Second}},
		{MinGatewayTimeout, GatewayLiveness{Heartbeat: 400 * time.Millisecond, Sweep: 400 * time.Millisecond,
			Stale: 1600 * time.Millisecond, PeerIdle: time.Second, PeerAck: time.Second}},
		{3 * time.Second, GatewayLiveness{Heartbeat: 600 * time.Millisecond, Sweep: 600 * time.Millisecond,
			Stale: 2400 * time.Millisecond, PeerIdle: 1500 * time.Millisecond, PeerAck: 1500 * time.Millisecond}},
	} {
		got, err := ForGatewayTimeout(tc.bound)
		if err != nil {
			t.Fatalf("%v: %v", tc.bound, err)
		}
		if got != tc.want {
			t.Errorf("%v:\n got %+v\nwant %+v", tc.bound, got, tc.want)
		}
		// The bound holds on both paths, and a live gateway gets at least
		// three heartbeats' slack before it is counted dead.
		if got.Stale+got.Sweep > tc.bound || got.PeerIdle+got.PeerAck > tc.bound {
			t.Errorf("%v: timers %+v exceed the bound", tc.bound, got)
		}
		if got.Stale < 3*got.Heartbeat {
			t.Errorf("%v: stale after %v, under three heartbeats of %v", tc.bound, got.Stale, got.Heartbeat)
		}
	}
	if zero, _ := ForGatewayTimeout(0); zero.Stale != 8*time.Second {
		t.Errorf("a zero bound gives %+v, want the default's", zero)
	}
	for _, bad := range []time.Duration{time.Nanosecond, -time.Second, MinGatewayTimeout - time.Millisecond} {
		if _, err := ForGatewayTimeout(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
