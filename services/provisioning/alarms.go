package provisioning

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/control-plane/mgmtapi"
)

// NodeAlarms lists a storage node's alarms as the management API shows
// them.
func NodeAlarms(node string, memory, disk bool) []mgmtapi.Alarm {
	var out []mgmtapi.Alarm
	if memory {
		out = append(out, mgmtapi.Alarm{Node: node, Resource: "memory"})
	}
	if disk {
		out = append(out, mgmtapi.Alarm{Node: node, Resource: "disk"})
	}
	return out
}

// RegistryAlarms reads the alarms of the live storage nodes from their
// registry entries, which carry them as of each heartbeat.
func RegistryAlarms(regKV jetstream.KeyValue) mgmtapi.Alarms {
	return func(ctx context.Context) ([]mgmtapi.Alarm, error) {
		nodes, err := registry.List(ctx, regKV, registry.StorageNode)
		if err != nil {
			return nil, err
		}
		var out []mgmtapi.Alarm
		for _, e := range nodes {
			out = append(out, NodeAlarms(e.Name, e.Alarms.Memory, e.Alarms.Disk)...)
		}
		return out, nil
	}
}
