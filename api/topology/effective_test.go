package topology

import (
	"testing"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/storage"
)

func pol(name, pattern, applyTo string, prio int, def map[string]any) Policy {
	return Policy{VHost: "/", Name: name, Pattern: pattern, ApplyTo: applyTo, Priority: prio, Definition: def}
}

var anyDef = map[string]any{"max-length": float64(1)}

func TestPolicySetMatch(t *testing.T) {
	set := NewPolicySet([]Policy{
		pol("low", ".*", ApplyToAll, 0, anyDef),
		pol("orders", "^orders\\.", ApplyToQueues, 5, anyDef),
		pol("b-tie", "tie", ApplyToAll, 7, anyDef),
		pol("a-tie", "tie", ApplyToAll, 7, anyDef),
		pol("ex", "^ex", ApplyToExchanges, 9, anyDef),
		pol("broken", "(", ApplyToAll, 100, anyDef),
		{VHost: "other", Name: "elsewhere", Pattern: ".*", Priority: 50, Definition: anyDef},
	})
	tests := []struct {
		kind, vhost, name string
		want              string // "" for none
	}{
		{KindQueue, "/", "orders.eu", "orders"},        // highest priority among matches
		{KindExchange, "/", "orders.eu", "low"},        // apply-to queues skips exchanges
		{KindQueue, "/", "ex.q", "low"},                // apply-to exchanges skips queues
		{KindExchange, "/", "ex.q", "ex"},              //
		{KindQueue, "/", "a-tie-b", "a-tie"},           // equal priority: lowest name
		{KindQueue, "/", "mid-orders.x", "low"},        // anchored pattern must match at the start
		{KindQueue, "/", "in-the-middle-tie", "a-tie"}, // unanchored pattern matches anywhere
		{KindQueue, "other", "orders.eu", "elsewhere"}, // policies are per vhost
		{KindQueue, "nowhere", "orders.eu", ""},        // no policy in the vhost
		{KindQueue, "/", "", "low"},                    // ".*" matches the empty name
	}
	for _, tc := range tests {
		p, ok := set.Match(tc.kind, tc.vhost, tc.name)
		got := ""
		if ok {
			got = p.Name
		}
		if got != tc.want {
			t.Errorf("Match(%s, %s, %q) = %q, want %q", tc.kind, tc.vhost, tc.name, got, tc.want)
		}
	}
	if set.Len() != 6 {
		t.Errorf("Len = %d, want 6 (the broken pattern left out)", set.Len())
	}
}

func TestPolicySetNil(t *testing.T) {
	var set *PolicySet
	if _, ok := set.Match(KindQueue, "/", "q"); ok || set.Len() != 0 {
		t.Fatal("a nil set must match nothing")
	}
	if _, ok := NewPolicySet(nil).Match(KindQueue, "/", "q"); ok {
		t.Fatal("an empty set must match nothing")
	}
}

func TestEffectiveSpec(t *testing.T) {
	none := storage.QueueSpec{MessageTTL: -1, Expires: -1, MaxLength: -1, MaxLengthBytes: -1}
	with := func(f func(*storage.QueueSpec)) storage.QueueSpec { s := none; f(&s); return s }
	tests := []struct {
		name string
		args amqp.Table
		def  map[string]any // nil: no policy
		want storage.QueueSpec
	}{
		{"no policy", nil, nil, none},
		{"policy alone", nil,
			map[string]any{"message-ttl": float64(100), "expires": float64(2000), "max-length": float64(3),
				"max-length-bytes": float64(40), "dead-letter-exchange": "dlx", "dead-letter-routing-key": "dead",
				"overflow": "reject-publish"},
			with(func(s *storage.QueueSpec) {
				s.MessageTTL, s.Expires, s.MaxLength, s.MaxLengthBytes = 100, 2000, 3, 40
				s.HasDLX, s.DeadLetterExchange, s.HasDLRoutingKey, s.DeadLetterRoutingKey = true, "dlx", true, "dead"
				s.Overflow = storage.RejectPublish
			})},
		{"numeric limits: the lower wins, policy lower",
			amqp.Table{"x-message-ttl": int32(500), "x-expires": int32(9000), "x-max-length": int32(10), "x-max-length-bytes": int32(99)},
			map[string]any{"message-ttl": float64(100), "expires": float64(2000), "max-length": float64(3), "max-length-bytes": float64(40)},
			with(func(s *storage.QueueSpec) { s.MessageTTL, s.Expires, s.MaxLength, s.MaxLengthBytes = 100, 2000, 3, 40 })},
		{"numeric limits: the lower wins, argument lower",
			amqp.Table{"x-message-ttl": int32(50), "x-expires": int32(900), "x-max-length": int32(1), "x-max-length-bytes": int32(9)},
			map[string]any{"message-ttl": float64(100), "expires": float64(2000), "max-length": float64(3), "max-length-bytes": float64(40)},
			with(func(s *storage.QueueSpec) { s.MessageTTL, s.Expires, s.MaxLength, s.MaxLengthBytes = 50, 900, 1, 9 })},
		{"zero is a limit, not unset", amqp.Table{"x-max-length": int32(0)}, map[string]any{"max-length": float64(5), "message-ttl": float64(0)},
			with(func(s *storage.QueueSpec) { s.MaxLength, s.MessageTTL = 0, 0 })},
		{"dead-letter keys: the argument wins",
			amqp.Table{"x-dead-letter-exchange": "mine", "x-dead-letter-routing-key": "rk"},
			map[string]any{"dead-letter-exchange": "theirs", "dead-letter-routing-key": "other"},
			with(func(s *storage.QueueSpec) {
				s.HasDLX, s.DeadLetterExchange, s.HasDLRoutingKey, s.DeadLetterRoutingKey = true, "mine", true, "rk"
			})},
		{"dead-letter keys resolve one by one", amqp.Table{"x-dead-letter-exchange": "mine"},
			map[string]any{"dead-letter-exchange": "theirs", "dead-letter-routing-key": "other"},
			with(func(s *storage.QueueSpec) {
				s.HasDLX, s.DeadLetterExchange, s.HasDLRoutingKey, s.DeadLetterRoutingKey = true, "mine", true, "other"
			})},
		{"empty DLX argument still wins", amqp.Table{"x-dead-letter-exchange": ""},
			map[string]any{"dead-letter-exchange": "theirs"},
			with(func(s *storage.QueueSpec) { s.HasDLX, s.DeadLetterExchange = true, "" })},
		{"overflow: the argument wins, even drop-head", amqp.Table{"x-overflow": "drop-head"},
			map[string]any{"overflow": "reject-publish-dlx"}, none},
		{"overflow from the policy", nil, map[string]any{"overflow": "reject-publish-dlx"},
			with(func(s *storage.QueueSpec) { s.Overflow = storage.RejectPublishDLX })},
		{"keys for exchanges are ignored", nil, map[string]any{"alternate-exchange": "ae"}, none},
		{"values of the wrong type are ignored", nil,
			map[string]any{"message-ttl": "100", "max-length": 1.5, "dead-letter-exchange": 7, "overflow": "nope"}, none},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := Queue{VHost: "/", Name: "q", Args: tc.args}
			var p *Policy
			if tc.def != nil {
				pp := pol("p", ".*", ApplyToAll, 0, tc.def)
				p = &pp
			}
			got, err := q.EffectiveSpec(p)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.VHost, want.Name = "/", "q"
			if got != want {
				t.Fatalf("EffectiveSpec =\n %+v, want\n %+v", got, want)
			}
		})
	}
}

func TestEffectiveSpecBadArgs(t *testing.T) {
	q := Queue{VHost: "/", Name: "q", Args: amqp.Table{"x-max-length": "ten"}}
	p := pol("p", ".*", ApplyToAll, 0, anyDef)
	if _, err := q.EffectiveSpec(&p); err == nil {
		t.Fatal("invalid arguments must fail as QueueSpec does")
	}
}

func TestEffectiveAlternateExchange(t *testing.T) {
	withAE := pol("p", ".*", ApplyToAll, 0, map[string]any{"alternate-exchange": "policy-ae"})
	noAE := pol("p", ".*", ApplyToAll, 0, anyDef)
	tests := []struct {
		name string
		x    Exchange
		p    *Policy
		want string
	}{
		{"neither", Exchange{}, nil, ""},
		{"argument alone", Exchange{AlternateExchange: "arg-ae"}, nil, "arg-ae"},
		{"policy alone", Exchange{}, &withAE, "policy-ae"},
		{"argument wins", Exchange{AlternateExchange: "arg-ae"}, &withAE, "arg-ae"},
		{"policy without the key", Exchange{}, &noAE, ""},
	}
	for _, tc := range tests {
		if got := EffectiveAlternateExchange(tc.x, tc.p); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
