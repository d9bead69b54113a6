package topology

import (
	"errors"
	"fmt"
	"regexp"
)

// Policy is RabbitMQ's policy: settings for the queues or exchanges of a
// vhost whose names match Pattern. At most one applies to an entity
// (PolicySet.Match); its definition combines with the entity's arguments
// (Queue.EffectiveSpec, EffectiveAlternateExchange). Storage nodes apply
// queue policies to their queues live, routers the alternate exchange.
type Policy struct {
	VHost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Priority   int            `json:"priority"`
	Definition map[string]any `json:"definition"`
}

// Policy apply-to values Warren accepts (RabbitMQ's for classic queues).
const (
	ApplyToAll       = "all"
	ApplyToQueues    = "queues"
	ApplyToExchanges = "exchanges"
)

// MaxPolicyKeys bounds a policy's definition.
const MaxPolicyKeys = 16

// policyKeys are the definition keys Warren takes, with the check of each
// value, named as RabbitMQ names them: the classic queue and exchange
// keys that have an x-argument counterpart Warren implements.
var policyKeys = map[string]func(any) error{
	"message-ttl":             nonNegative,
	"expires":                 positive,
	"max-length":              nonNegative,
	"max-length-bytes":        nonNegative,
	"overflow":                isOverflow,
	"dead-letter-exchange":    isString,
	"dead-letter-routing-key": isString,
	"alternate-exchange":      isString,
}

// CheckPolicy validates a policy as RabbitMQ's rabbit_policy does: a
// name, a pattern that compiles, a known apply-to, and a definition of
// known keys with values of the right type. An empty ApplyTo is "all".
func CheckPolicy(p Policy) error {
	if err := CheckEntityName("policy", p.Name); err != nil {
		return err
	}
	if len(p.Pattern) > MaxPatternLen {
		return fmt.Errorf("pattern longer than %d bytes", MaxPatternLen)
	}
	if _, err := regexp.Compile(p.Pattern); err != nil {
		return fmt.Errorf("pattern: %w", err)
	}
	switch p.ApplyTo {
	case "", ApplyToAll, ApplyToQueues, ApplyToExchanges:
	default:
		return fmt.Errorf("apply-to %q: use all, queues or exchanges", p.ApplyTo)
	}
	return checkDefinition(p.Definition)
}

func checkDefinition(def map[string]any) error {
	if len(def) == 0 {
		return errors.New("a policy needs a definition")
	}
	if len(def) > MaxPolicyKeys {
		return fmt.Errorf("at most %d definition keys", MaxPolicyKeys)
	}
	var errs []error
	for k, v := range def {
		check, ok := policyKeys[k]
		if !ok {
			errs = append(errs, fmt.Errorf("definition key %q is not supported", k))
			continue
		}
		if err := check(v); err != nil {
			errs = append(errs, fmt.Errorf("definition key %q: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// policyInt accepts what JSON decoding yields for a whole number.
func policyInt(v any) (int64, bool) {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f), true
	}
	return AsInt(v)
}

func nonNegative(v any) error {
	if n, ok := policyInt(v); !ok || n < 0 {
		return errors.New("must be a non-negative integer")
	}
	return nil
}

func positive(v any) error {
	if n, ok := policyInt(v); !ok || n < 1 {
		return errors.New("must be a positive integer")
	}
	return nil
}

func isOverflow(v any) error {
	if _, ok := overflowOf(v); !ok {
		return errors.New("must be drop-head, reject-publish or reject-publish-dlx")
	}
	return nil
}

func isString(v any) error {
	if _, ok := v.(string); !ok {
		return errors.New("must be a string")
	}
	return nil
}
