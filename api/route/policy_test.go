package route

import (
	"slices"
	"testing"

	"github.com/warrenmq/warren/api/topology"
)

// A policy's alternate-exchange reroutes the unroutable messages of the
// exchanges that exist and of those declared later; the exchange's own
// argument wins; removing the policy takes it back.
func TestPolicyAlternateExchange(t *testing.T) {
	ix := fixture(t,
		[]topology.Exchange{
			{Name: "plain", Type: topology.Direct},
			{Name: "own", Type: topology.Direct, AlternateExchange: "own-ae"},
			{Name: "pol-ae", Type: topology.Fanout},
			{Name: "own-ae", Type: topology.Fanout},
		},
		[]string{"via-policy", "via-own"},
		[]topology.Binding{{Source: "pol-ae", Dest: "via-policy"}, {Source: "own-ae", Dest: "via-own"}})
	route := func(x string) []string { return names(ix.Route("/", x, "nowhere", nil, nil)) }
	if got := route("plain"); len(got) != 0 {
		t.Fatalf("before the policy: %v", got)
	}
	ix.SetPolicies(topology.NewPolicySet([]topology.Policy{{VHost: "/", Name: "ae", Pattern: "^(plain|own|later)$",
		ApplyTo: topology.ApplyToExchanges, Definition: map[string]any{"alternate-exchange": "pol-ae"}}}))
	if got := route("plain"); !slices.Equal(got, []string{"via-policy"}) {
		t.Errorf("existing exchange under the policy: %v", got)
	}
	if got := route("own"); !slices.Equal(got, []string{"via-own"}) {
		t.Errorf("the argument must win over the policy: %v", got)
	}
	ix.PutExchange(topology.Exchange{VHost: "/", Name: "later", Type: topology.Direct})
	if got := route("later"); !slices.Equal(got, []string{"via-policy"}) {
		t.Errorf("exchange declared after the policy: %v", got)
	}
	ix.SetPolicies(nil)
	if got := route("plain"); len(got) != 0 {
		t.Errorf("after the policy is gone: %v", got)
	}
}

func TestQueuePolicy(t *testing.T) {
	ix := NewIndex()
	q := &topology.Queue{VHost: "/", Name: "q"}
	if _, ok := ix.QueuePolicy(q); ok {
		t.Fatal("no policies, yet one applies")
	}
	ix.SetPolicies(topology.NewPolicySet([]topology.Policy{{VHost: "/", Name: "p", Pattern: "q", ApplyTo: topology.ApplyToQueues,
		Definition: map[string]any{"max-length": float64(1)}}}))
	if p, ok := ix.QueuePolicy(q); !ok || p.Name != "p" {
		t.Fatalf("QueuePolicy = %v, %v", p, ok)
	}
	if _, ok := ix.ExchangePolicy(topology.Exchange{VHost: "/", Name: "q"}); ok {
		t.Fatal("a queues-only policy applied to an exchange")
	}
}
