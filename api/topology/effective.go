package topology

import (
	"cmp"
	"regexp"
	"slices"

	"github.com/warrenmq/warren/api/storage"
)

// PolicySet is one instance's policies ready to match entity names: the
// patterns compiled once, the policies in the order that picks the one
// applying to an entity. A PolicySet is immutable; share it freely.
type PolicySet struct {
	list []compiled // by priority, highest first; ties by name
}

type compiled struct {
	p  Policy
	re *regexp.Regexp
}

// NewPolicySet compiles policies. One whose pattern does not compile
// (CheckPolicy refuses those, so only a corrupt record has one) matches
// nothing.
func NewPolicySet(policies []Policy) *PolicySet {
	s := &PolicySet{list: make([]compiled, 0, len(policies))}
	for _, p := range policies {
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			continue
		}
		s.list = append(s.list, compiled{p: p, re: re})
	}
	slices.SortFunc(s.list, func(a, b compiled) int {
		if c := cmp.Compare(b.p.Priority, a.p.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Name, b.p.Name)
	})
	return s
}

// Len is the number of policies in the set; a nil set has none.
func (s *PolicySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.list)
}

// Entity kinds a policy applies to.
const (
	KindQueue    = "queue"
	KindExchange = "exchange"
)

// Match returns the policy that applies to the queue or exchange (kind)
// named name in vhost, as rabbit_policy picks it: among the policies of
// the vhost whose apply-to takes the kind and whose pattern matches the
// name (unanchored, as Erlang's re:run), the one of highest priority.
// RabbitMQ leaves a tie to chance; Warren takes the lowest name. At most
// one policy applies, whatever keys its definition holds. ok is false when
// none does; a nil set matches nothing.
func (s *PolicySet) Match(kind, vhost, name string) (p *Policy, ok bool) {
	if s == nil {
		return nil, false
	}
	for i := range s.list {
		c := &s.list[i]
		if c.p.VHost == vhost && appliesTo(c.p.ApplyTo, kind) && c.re.MatchString(name) {
			return &c.p, true
		}
	}
	return nil, false
}

func appliesTo(applyTo, kind string) bool {
	switch applyTo {
	case "", ApplyToAll:
		return true
	case ApplyToQueues:
		return kind == KindQueue
	case ApplyToExchanges:
		return kind == KindExchange
	}
	return false
}

// EffectiveSpec is the spec the queue runs with: its QueueSpec (from its
// x-arguments) with policy p applied (nil: none), as RabbitMQ resolves the
// two (rabbit_amqqueue_process:process_args_policy). For message-ttl,
// expires, max-length and max-length-bytes the lower value wins when both
// set one; for dead-letter-exchange, dead-letter-routing-key and overflow
// the argument wins and the policy fills in what the arguments left out.
// Values of the wrong type are ignored (CheckPolicy refuses them). The
// error is QueueSpec's: the queue's own arguments are invalid.
func (q Queue) EffectiveSpec(p *Policy) (storage.QueueSpec, error) {
	s, err := q.QueueSpec()
	if err != nil || p == nil {
		return s, err
	}
	d := p.Definition
	s.MessageTTL = lowerLimit(s.MessageTTL, d["message-ttl"])
	s.Expires = lowerLimit(s.Expires, d["expires"])
	s.MaxLength = lowerLimit(s.MaxLength, d["max-length"])
	s.MaxLengthBytes = lowerLimit(s.MaxLengthBytes, d["max-length-bytes"])
	if v, ok := d["dead-letter-exchange"].(string); ok && !s.HasDLX {
		s.DeadLetterExchange, s.HasDLX = v, true
	}
	if v, ok := d["dead-letter-routing-key"].(string); ok && !s.HasDLRoutingKey {
		s.DeadLetterRoutingKey, s.HasDLRoutingKey = v, true
	}
	if _, set := q.Args["x-overflow"]; !set {
		if o, ok := overflowOf(d["overflow"]); ok {
			s.Overflow = o
		}
	}
	return s, nil
}

// lowerLimit is the stricter of a declared limit (-1: none) and a policy
// value (nil or not a whole number: none).
func lowerLimit(declared int64, v any) int64 {
	n, ok := policyInt(v)
	if !ok || n < 0 {
		return declared
	}
	if declared < 0 {
		return n
	}
	return min(declared, n)
}

func overflowOf(v any) (storage.Overflow, bool) {
	switch v {
	case "drop-head":
		return storage.DropHead, true
	case "reject-publish":
		return storage.RejectPublish, true
	case "reject-publish-dlx":
		return storage.RejectPublishDLX, true
	}
	return storage.DropHead, false
}

// EffectiveAlternateExchange is the alternate exchange x routes unroutable
// messages to: its "alternate-exchange" argument, else policy p's (nil:
// none); empty when neither names one.
func EffectiveAlternateExchange(x Exchange, p *Policy) string {
	if x.AlternateExchange != "" || p == nil {
		return x.AlternateExchange
	}
	ae, _ := p.Definition["alternate-exchange"].(string)
	return ae
}
