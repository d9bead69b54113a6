// Package deadletter rewrites a message leaving a queue by rejection,
// expiry or overflow into the dead letter RabbitMQ would publish: x-death
// headers updated, expiration removed, routing keys chosen. It is a pure
// function of the queue spec, the message, the reason and the time.
package deadletter

import (
	"fmt"
	"slices"
	"time"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/storage"
)

// Rewrite builds the dead letter of m leaving the queue spec for reason
// ("rejected", "expired", "maxlen") at now. Following RabbitMQ (docs/dlx.md
// and rabbit_dead_letter / mc:record_death):
//
//   - x-death is an array of tables, most recent first, one per {queue,
//     reason}: queue, reason, count (long), time (timestamp of the first
//     such death), exchange, routing-keys (the original routing key and CC,
//     never BCC), and original-expiration when the message had an
//     expiration property. A second death for the same {queue, reason}
//     increments count and moves that entry to the front; its other fields
//     keep their first values.
//   - x-first-death-queue/-reason/-exchange are set once; x-last-death-*
//     are set every time.
//   - The expiration property is removed, so the dead letter does not
//     expire again for the same reason.
//   - With x-dead-letter-routing-key the routing key is replaced and CC is
//     removed; otherwise the original routing key and CC are used. BCC is
//     always removed.
//
// The error is non-nil only when m's properties cannot be decoded or
// re-encoded; the dead letter is then built with the properties unchanged.
func Rewrite(spec *storage.QueueSpec, m *storage.Message, reason string, now time.Time) (storage.DeadLetter, error) {
	dl := storage.DeadLetter{Queue: spec.ID, VHost: spec.VHost, Exchange: spec.DeadLetterExchange}
	p, err := decode(m.Properties)
	if err != nil {
		dl.RoutingKeys = routeKeys(spec, m.RoutingKey, nil)
		dl.Msg = rewritten(spec, m, dl.RoutingKeys[0], m.Properties)
		return dl, fmt.Errorf("dead-letter from %s: %w", spec.Name, err)
	}
	h := p.Headers
	if h == nil {
		h = amqp.Table{}
	}
	cc := stringArray(h["CC"])
	deathKeys := append([]string{m.RoutingKey}, cc...)
	recordDeath(h, spec.Name, reason, m.Exchange, deathKeys, &p, now)
	dl.RoutingKeys = routeKeys(spec, m.RoutingKey, cc)
	if spec.HasDLRoutingKey {
		delete(h, "CC")
	}
	delete(h, "BCC")
	p.Headers = h
	p.Flags |= amqp.FlagHeaders
	props, err := p.Append(nil)
	if err != nil {
		props = m.Properties
		err = fmt.Errorf("dead-letter from %s: %w", spec.Name, err)
	}
	dl.Msg = rewritten(spec, m, dl.RoutingKeys[0], props)
	return dl, err
}

func decode(raw []byte) (amqp.Properties, error) {
	if len(raw) == 0 {
		return amqp.Properties{}, nil
	}
	p, err := amqp.DecodeProperties(raw)
	if err != nil {
		return p, err
	}
	p.Headers = cloneTable(p.Headers)
	return p, nil
}

// routeKeys are the keys the dead letter is routed with.
func routeKeys(spec *storage.QueueSpec, rk string, cc []string) []string {
	if spec.HasDLRoutingKey {
		return []string{spec.DeadLetterRoutingKey}
	}
	return append([]string{rk}, cc...)
}

func rewritten(spec *storage.QueueSpec, m *storage.Message, rk string, props []byte) *storage.Message {
	return &storage.Message{
		Exchange:   spec.DeadLetterExchange,
		RoutingKey: rk,
		Properties: props,
		Body:       m.Body,
		Persistent: m.Persistent,
		Priority:   m.Priority,
		TTL:        -1,
	}
}

// recordDeath updates the x-death headers in h, and removes the expiration
// property from p (remembering it in a new entry).
func recordDeath(h amqp.Table, queueName, reason, exchange string, keys []string, p *amqp.Properties, now time.Time) {
	deaths, _ := h["x-death"].([]any)
	i := slices.IndexFunc(deaths, func(v any) bool {
		t, ok := v.(amqp.Table)
		return ok && t["queue"] == queueName && t["reason"] == reason
	})
	var entry amqp.Table
	if i >= 0 {
		entry = deaths[i].(amqp.Table)
		entry["count"] = countOf(entry["count"]) + 1
		deaths = slices.Delete(slices.Clone(deaths), i, i+1)
	} else {
		entry = newEntry(queueName, reason, exchange, keys, now)
	}
	if p.Flags&amqp.FlagExpiration != 0 {
		if i < 0 {
			entry["original-expiration"] = p.Expiration
		}
		p.Flags &^= amqp.FlagExpiration
		p.Expiration = ""
	}
	h["x-death"] = append([]any{entry}, deaths...)
	if _, ok := h["x-first-death-queue"]; !ok {
		h["x-first-death-queue"] = queueName
		h["x-first-death-reason"] = reason
		h["x-first-death-exchange"] = exchange
	}
	h["x-last-death-queue"] = queueName
	h["x-last-death-reason"] = reason
	h["x-last-death-exchange"] = exchange
}

func newEntry(queueName, reason, exchange string, keys []string, now time.Time) amqp.Table {
	rks := make([]any, len(keys))
	for i, k := range keys {
		rks[i] = k
	}
	return amqp.Table{
		"queue":        queueName,
		"reason":       reason,
		"count":        int64(1),
		"time":         time.Unix(now.Unix(), 0).UTC(),
		"exchange":     exchange,
		"routing-keys": rks,
	}
}

// countOf reads a count written by any client or broker version.
func countOf(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int16:
		return int64(n)
	case int8:
		return int64(n)
	case uint32:
		return int64(n)
	case uint16:
		return int64(n)
	case uint8:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

// stringArray reads a CC/BCC header: an array of long strings.
func stringArray(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		switch s := x.(type) {
		case string:
			out = append(out, s)
		case []byte:
			out = append(out, string(s))
		}
	}
	return out
}

// cloneTable copies the top level and the x-death entries, the parts
// Rewrite modifies, so the decoded original is never shared.
func cloneTable(t amqp.Table) amqp.Table {
	if t == nil {
		return nil
	}
	c := make(amqp.Table, len(t))
	for k, v := range t {
		c[k] = v
	}
	if deaths, ok := c["x-death"].([]any); ok {
		cp := make([]any, len(deaths))
		for i, d := range deaths {
			if dt, ok := d.(amqp.Table); ok {
				d = cloneTable(dt)
			}
			cp[i] = d
		}
		c["x-death"] = cp
	}
	return c
}
