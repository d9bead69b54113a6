package mgmtapi

import (
	"maps"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
)

// queuePolicy is the name of the policy that applies to a queue (nil for
// none) and its definition ({} for none): RabbitMQ's policy and
// effective_policy_definition, from the mirror the storage nodes apply
// policies from.
func (a *API) queuePolicy(inst, vhost, name string) (*string, map[string]any) {
	def := map[string]any{}
	var pname *string
	a.mirror.Read(inst, func(ix *route.Index) {
		if p, ok := ix.Policies().Match(topology.KindQueue, vhost, name); ok {
			n := p.Name
			pname = &n
			maps.Copy(def, p.Definition)
		}
	})
	return pname, def
}
