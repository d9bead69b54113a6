package route

import "github.com/warrenmq/warren/api/topology"

// SetPolicies replaces the instance's policies: the alternate exchange of
// every exchange follows them from the next Route on, as a RabbitMQ
// policy change applies to exchanges that exist. O(exchanges × policies);
// policies change rarely.
func (ix *Index) SetPolicies(ps *topology.PolicySet) {
	ix.policies = ps
	for _, e := range ix.exchanges {
		e.ae = ix.alternateOf(e.x)
	}
}

// Policies is the instance's policies (nil when it has none).
func (ix *Index) Policies() *topology.PolicySet { return ix.policies }

// QueuePolicy is the policy that applies to a queue, if any.
func (ix *Index) QueuePolicy(q *topology.Queue) (*topology.Policy, bool) {
	return ix.policies.Match(topology.KindQueue, q.VHost, q.Name)
}

// ExchangePolicy is the policy that applies to an exchange, if any.
func (ix *Index) ExchangePolicy(x topology.Exchange) (*topology.Policy, bool) {
	return ix.policies.Match(topology.KindExchange, x.VHost, x.Name)
}

// alternateOf is x's alternate exchange: its argument, else its policy's.
func (ix *Index) alternateOf(x topology.Exchange) string {
	p, _ := ix.ExchangePolicy(x)
	return topology.EffectiveAlternateExchange(x, p)
}
