package storagenode

import (
	"encoding/json"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/storage"
)

// natsEvents implements storage.Events by publishing on
// storage.QueueUnusedSubject for the control plane. Publishing only
// buffers in the NATS client, so the node's goroutine never waits.
type natsEvents struct {
	nc  *nats.Conn
	log *slog.Logger
}

func (e *natsEvents) QueueUnused(id storage.QueueID, reason string) {
	b, _ := json.Marshal(storage.QueueUnusedEvent{Queue: id, Reason: reason})
	if err := e.nc.Publish(storage.QueueUnusedSubject, b); err != nil {
		e.log.Warn("publishing queue-unused event", "queue", id, "err", err)
	}
}
