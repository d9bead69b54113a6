package embedded

import (
	"context"
	"time"

	"github.com/warrenmq/warren/api/storage"
)

// queueEvents turns the storage node's "queue unused" reports (auto-delete,
// x-expires) into topology deletes.
type queueEvents struct{ b *broker }

func (e *queueEvents) QueueUnused(id storage.QueueID, reason string) {
	go func() { // never block the storage node's goroutine
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		inst, ok := e.b.mirror.QueueInstance(id)
		if !ok {
			return // deleted meanwhile
		}
		if err := e.b.topo.DeleteUnusedQueue(ctx, inst, id); err != nil {
			e.b.o.Log.Warn("deleting unused queue", "queue", id, "reason", reason, "err", err)
		}
	}()
}
