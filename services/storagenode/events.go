package storagenode

import (
	"encoding/json"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/warrenmq/warren/api/storage"
)

// QueueUnusedSubject is where a storage node announces that an auto-delete
// queue lost its last consumer or an x-expires queue expired; the control
// plane, which owns the topology, deletes it.
const QueueUnusedSubject = "warren.storage.queue-unused"

// QueueUnused is the message published on QueueUnusedSubject.
type QueueUnused struct {
	Queue  storage.QueueID `json:"queue"`
	Reason string          `json:"reason"`
}

// natsEvents implements storage.Events by publishing on NATS. Publishing
// only buffers in the NATS client, so the node's goroutine never waits.
type natsEvents struct {
	nc  *nats.Conn
	log *slog.Logger
}

func (e *natsEvents) QueueUnused(id storage.QueueID, reason string) {
	b, _ := json.Marshal(QueueUnused{Queue: id, Reason: reason})
	if err := e.nc.Publish(QueueUnusedSubject, b); err != nil {
		e.log.Warn("publishing queue-unused event", "queue", id, "err", err)
	}
}
