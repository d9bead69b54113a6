package controlplane

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/connquota"
	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/topo"
)

// sweepDeadGateways deletes, every live.Sweep, the exclusive queues owned
// by connections of dead gateways (see gatewayJudge): their owner is gone,
// as when a RabbitMQ connection dies. A SIGKILLed gateway's queues so go
// within the gateway timeout. (The storage node has already requeued the
// dead gateway's unacked messages: its sessions ended with their streams.)
// Its connections stop counting against their instances' max_connections
// then too.
func sweepDeadGateways(ctx context.Context, svc *topo.Service, m *topokv.Mirror, regKV, seatsKV jetstream.KeyValue, live registry.GatewayLiveness, log *slog.Logger) {
	t := time.NewTicker(live.Sweep)
	defer t.Stop()
	judge := &gatewayJudge{live: live}
	seats := &seatsSchedule{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		gateways, err := registry.Entries(ctx, regKV, registry.Gateway)
		if err != nil {
			continue // without the list, deleting anything would be a guess
		}
		now := time.Now()
		up := judge.alive(gateways, now)
		if seats.due(up, now) && dropSeats(ctx, seatsKV, regKV, up, live, log) {
			seats.done(up, now)
		}
		for _, inst := range instanceNames(m) {
			n, err := svc.DropOrphanedExclusive(ctx, inst, func(id string) bool { return up[id] })
			if err != nil {
				log.Warn("removing exclusive queues of dead gateways", "instance", inst, "err", err)
			} else if n > 0 {
				log.Info("removed exclusive queues of dead gateways", "instance", inst, "queues", n)
			}
		}
	}
}

// seatsFullSweep bounds how long connection counts outlive a gateway the
// sweep never saw alive (it lived less than a sweep).
const seatsFullSweep = time.Minute

// seatsSchedule decides when the sweep rereads every connection-count
// record: at first, when a gateway seen up since the last reading no
// longer is, and every seatsFullSweep. Reading them at every sweep would
// cost a NATS round trip per instance with connections every few seconds.
// Owned by the sweep goroutine.
type seatsSchedule struct {
	seen map[string]bool // the gateways seen up since the last reading, and any it left
	last time.Time       // when the last reading succeeded
}

// due takes the gateways up at a sweep made at now.
func (s *seatsSchedule) due(up map[string]bool, now time.Time) bool {
	lost := false
	for gw := range s.seen {
		lost = lost || !up[gw]
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	maps.Copy(s.seen, up)
	return lost || s.last.IsZero() || now.Sub(s.last) >= seatsFullSweep
}

// done records a successful reading with up as the gateways it kept;
// after a failed one the lost gateways stay seen, and the next sweep
// tries again.
func (s *seatsSchedule) done(up map[string]bool, now time.Time) {
	s.seen, s.last = maps.Clone(up), now
}

// dropSeats removes the connection counts of the gateways not up and
// reports whether every record was read. A gateway missing from up may
// have registered since the registry was read and counted its first
// connections meanwhile: its own entry, read now, keeps it.
func dropSeats(ctx context.Context, seatsKV, regKV jetstream.KeyValue, up map[string]bool, live registry.GatewayLiveness, log *slog.Logger) bool {
	keep := func(gw string) bool {
		if up[gw] {
			return true
		}
		e, ok, err := registry.Lookup(ctx, regKV, registry.Gateway, gw)
		return err != nil || (ok && time.Since(e.Heartbeat) <= live.Stale)
	}
	n, err := connquota.DropGateways(ctx, seatsKV, keep)
	if err != nil {
		log.Warn("removing connection counts of dead gateways", "err", err)
		return false
	}
	if n > 0 {
		log.Info("removed connection counts of dead gateways", "entries", n)
	}
	return true
}

// instanceNames lists the instances that have a record.
func instanceNames(m *topokv.Mirror) []string {
	var names []string
	m.Instances(func(i topology.Instance) { names = append(names, i.Name) })
	return names
}

// gatewayJudge decides which gateways are alive from successive reads of
// the registry. A gateway is dead once deregistered, or once its heartbeat
// is live.Stale old — but only if the control plane could read the
// registry for that long: after a blind spell (its own start, NATS away)
// every listed gateway gets live.Stale from the first read to heartbeat
// again, since heartbeats could not be written either. Owned by the sweep
// goroutine.
type gatewayJudge struct {
	live     registry.GatewayLiveness
	lastRead time.Time // the previous successful read
	sighted  time.Time // the first read after the last blind spell
}

// alive records a read of every gateway entry made at now and returns the
// names of the gateways alive.
func (j *gatewayJudge) alive(entries []registry.Entry, now time.Time) map[string]bool {
	if j.lastRead.IsZero() || now.Sub(j.lastRead) > 2*j.live.Sweep {
		j.sighted = now
	}
	j.lastRead = now
	grace := now.Sub(j.sighted) <= j.live.Stale
	up := make(map[string]bool, len(entries))
	for _, g := range entries {
		if grace || now.Sub(g.Heartbeat) <= j.live.Stale {
			up[g.Name] = true
		}
	}
	return up
}
