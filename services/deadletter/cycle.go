package deadletter

import "github.com/warrenmq/warren/api/amqp"

// isCycle reports whether dead-lettering a message into queue would close a
// fully automatic cycle, following rabbit_dead_letter:is_cycle/2 (3.10):
// the message already died in that queue, and no death since then (that
// one included) was a rejection. deaths is the message's x-death array,
// most recent first, already holding the death being routed now.
//
// A cycle that contains a rejection is a consumer's decision and may go on;
// one made only of expiries and length limits would loop forever.
func isCycle(queue string, deaths []any) bool {
	for _, d := range deaths {
		t, ok := d.(amqp.Table)
		if !ok {
			return false // RabbitMQ treats a malformed entry as ending the check
		}
		if reason, _ := t["reason"].(string); reason == "rejected" {
			return false
		}
		if q, _ := t["queue"].(string); q == queue {
			return true
		}
	}
	return false
}

// deathsOf returns the x-death array and the reason of the newest death.
func deathsOf(headers amqp.Table) (deaths []any, reason string) {
	deaths, _ = headers["x-death"].([]any)
	if len(deaths) > 0 {
		if t, ok := deaths[0].(amqp.Table); ok {
			reason, _ = t["reason"].(string)
		}
	}
	return deaths, reason
}
