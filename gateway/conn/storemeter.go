package conn

import (
	"context"
	"fmt"
	"time"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
)

// DefaultStorageMeter is how often a gateway sums what each instance with a
// max_stored_bytes quota stores. Between two looks an instance may pass its
// quota by what its publishers send meanwhile.
const DefaultStorageMeter = time.Second

// MeterStorage shuts the publish gate of every instance whose queues hold
// more than its max_stored_bytes (ready message bytes, as the storage nodes
// count them), and opens it once they hold less again: its publishers get
// connection.blocked and are not read meanwhile, while its consumers go on
// draining. It runs until ctx ends. Each gateway meters on its own; they
// reach the same answer from the same storage nodes.
func (cfg *Config) MeterStorage(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var insts []topology.Instance
		cfg.Mirror.Instances(func(i topology.Instance) { insts = append(insts, i) })
		for _, i := range insts {
			cfg.meterInstance(ctx, i)
		}
	}
}

// meterInstance sets one instance's gate from what its queues hold now.
// An instance without the quota is never blocked by it; one whose bytes
// cannot all be read keeps its gate as it was.
func (cfg *Config) meterInstance(ctx context.Context, i topology.Instance) {
	limit := i.Quotas.MaxStoredBytes
	if limit == 0 {
		if g := cfg.tenants.existingGate(i.Name); g != nil {
			g.Set("")
		}
		return
	}
	stored, err := cfg.storedBytes(ctx, i.Name)
	if err != nil {
		cfg.Log.Debug("metering stored bytes", "instance", i.Name, "err", err)
		return
	}
	reason := ""
	if stored > limit {
		reason = fmt.Sprintf("max_stored_bytes (%d) of instance '%s' reached", limit, i.Name)
	}
	cfg.tenants.gate(i.Name).Set(reason)
}

// storedBytes sums the ready bytes of the instance's queues.
func (cfg *Config) storedBytes(ctx context.Context, inst string) (uint64, error) {
	var queues []topology.Queue
	cfg.Mirror.Read(inst, func(ix *route.Index) {
		ix.Queues(func(q *topology.Queue) { queues = append(queues, *q) })
	})
	ctx, cancel := context.WithTimeout(ctx, DefaultStorageMeter)
	defer cancel()
	var sum uint64
	for _, q := range queues {
		n, ok := cfg.Node(q.Node)
		if !ok {
			return 0, fmt.Errorf("queue %s: storage node %s unknown", q.Name, q.Node)
		}
		st, err := n.Stats(ctx, q.ID)
		if err != nil { // a queue deleted meanwhile too: the next look is right
			return 0, fmt.Errorf("queue %s: %w", q.Name, err)
		}
		sum += st.ReadyBytes
	}
	return sum, nil
}
