// Package deadletter routes dead-lettered messages through the topology and
// appends them to their target queues' storage nodes: the storage.DeadLetterer
// a storage node is given.
package deadletter

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// Router implements storage.DeadLetterer. Each dead letter is routed in
// its source queue's instance, found through the mirror by the queue's ID,
// and in its vhost: instances are isolated, and two of them may have
// queues, exchanges and vhosts of the same names.
type Router struct {
	Mirror *topokv.Mirror
	Node   func(name string) (storage.Node, bool)
	// KV is the topology bucket Mirror follows. When set, a batch naming a
	// source queue the mirror does not hold waits for the mirror to catch
	// up with the bucket before deciding the queue is gone.
	KV  jetstream.KeyValue
	Log *slog.Logger // may be nil
}

var _ storage.DeadLetterer = (*Router)(nil)

// DeadLetter routes each dead letter by its exchange and keys and appends it
// to every queue reached. A dead letter that reaches no queue is dropped, as
// RabbitMQ drops messages to a missing dead-letter exchange; so is one whose
// source queue was deleted before it was routed (its instance is unknown,
// and routing it in another would leak it there). An error means some of
// the batch may not be stored: the caller retries the whole batch.
func (r *Router) DeadLetter(ctx context.Context, batch []storage.DeadLetter) error {
	insts, err := r.instances(ctx, batch)
	if err != nil {
		return err
	}
	byNode := map[string][]storage.Publish{}
	for i, dl := range batch {
		if insts[i] == "" {
			continue
		}
		for node, ids := range r.targets(insts[i], dl) {
			byNode[node] = append(byNode[node], storage.Publish{Queues: ids, Msg: dl.Msg})
		}
	}
	for name, pubs := range byNode {
		n, ok := r.Node(name)
		if !ok {
			return fmt.Errorf("dead-letter: storage node %q unavailable", name)
		}
		outcomes, err := n.Append(ctx, pubs)
		if err != nil {
			return fmt.Errorf("dead-letter append on %s: %w", name, err)
		}
		for _, o := range outcomes {
			if o.Err != nil {
				return fmt.Errorf("dead-letter append on %s: %w", name, o.Err)
			}
		}
	}
	return nil
}

// instances returns the instance each dead letter of batch is routed in,
// "" for one whose source queue no instance holds.
func (r *Router) instances(ctx context.Context, batch []storage.DeadLetter) ([]string, error) {
	out := make([]string, len(batch))
	missing := r.resolve(batch, out)
	if missing > 0 && r.KV != nil {
		// A queue declared a moment ago may not be mirrored here yet.
		if err := r.catchUp(ctx); err != nil {
			return nil, err
		}
		missing = r.resolve(batch, out)
	}
	if missing > 0 && r.Log != nil {
		r.Log.Warn("dead letters dropped: their source queue was deleted", "count", missing)
	}
	return out, nil
}

// resolve fills in the instances out still lacks and counts those it
// could not find.
func (r *Router) resolve(batch []storage.DeadLetter, out []string) (missing int) {
	for i, dl := range batch {
		if out[i] != "" {
			continue
		}
		if dl.Queue == 0 { // stored before dead letters named their source
			out[i] = topology.DefaultInstance
			continue
		}
		if out[i], _ = r.Mirror.QueueInstance(dl.Queue); out[i] == "" {
			missing++
		}
	}
	return missing
}

// catchUp waits until the mirror holds the bucket's last revision.
func (r *Router) catchUp(ctx context.Context) error {
	if err := r.Mirror.WaitLatest(ctx, r.KV); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	return nil
}

// targets groups the queues a dead letter reaches by owning node, leaving
// out queues that would close an automatic dead-letter cycle.
func (r *Router) targets(inst string, dl storage.DeadLetter) map[string][]storage.QueueID {
	var headers amqp.Table
	if p, err := amqp.DecodeProperties(dl.Msg.Properties); err == nil {
		headers = p.Headers
	}
	deaths, reason := deathsOf(headers)
	out := map[string][]storage.QueueID{}
	r.Mirror.Read(inst, func(ix *route.Index) {
		var buf []*topology.Queue
		for _, key := range dl.RoutingKeys {
			buf = ix.Route(dl.VHost, dl.Exchange, key, headers, buf)
			for _, q := range buf {
				if reason != "rejected" && isCycle(q.Name, deaths) {
					continue
				}
				if !contains(out[q.Node], q.ID) {
					out[q.Node] = append(out[q.Node], q.ID)
				}
			}
		}
	})
	return out
}

func contains(ids []storage.QueueID, id storage.QueueID) bool {
	for _, have := range ids {
		if have == id {
			return true
		}
	}
	return false
}
