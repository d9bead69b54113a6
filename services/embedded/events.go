package embedded

import (
	"context"
	"time"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topology"
)

// queueEvents turns a storage node's "queue unused" reports (auto-delete,
// x-expires) into topology deletes.
type queueEvents struct{ b *broker }

func (e *queueEvents) QueueUnused(id storage.QueueID, reason string) {
	go e.delete(id, reason) // never block the storage node's goroutine
}

func (e *queueEvents) delete(id storage.QueueID, reason string) {
	var q *topology.Queue
	e.b.mirror.Read(topology.DefaultInstance, func(ix *route.Index) {
		ix.Queues(func(c *topology.Queue) {
			if c.ID == id {
				q = c
			}
		})
	})
	if q == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.b.topo.DeleteQueue(ctx, topology.DefaultInstance, "", q.VHost, q.Name, false, false); err != nil {
		e.b.o.Log.Warn("deleting unused queue", "queue", q.Name, "reason", reason, "err", err)
	}
}
