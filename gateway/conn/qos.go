package conn

import "github.com/warrenmq/warren/api/storage"

// Prefetch is enforced with storage credit. A consumer's credit is the
// number of deliveries its node may still push.
//
// Per-consumer prefetch (basic.qos global=false, for consumers created after
// it): the consumer opens with credit = prefetch and gets one credit back per
// settled delivery. No prefetch: the node treats it as unlimited.
//
// Global prefetch (global=true): the channel holds a budget of
// prefetch − unacked − credit handed out; it is spread round-robin over the
// channel's manual-ack consumers that are under their own prefetch, so the
// channel never holds more unacked deliveries than the global prefetch.
// As in RabbitMQ 3.10, a later basic.qos global=false lifts the global limit
// (rabbit_channel: unlimit_prefetch).

// creditState is a manual-ack consumer's share of the channel's prefetch.
// Guarded by the channel's mu.
type creditState struct {
	limit     uint32 // per-consumer prefetch, 0 = none
	unlimited bool   // opened without any limit: the node never runs it dry
	held      uint32 // delivered, not settled
	credit    uint32 // granted to the node, not yet used by a delivery
}

// grants is credit to hand to storage once the channel's lock is released
// (a Grant may deliver, and delivering takes the lock).
type grants map[*consumer]uint32

func (g grants) send() {
	for cons, n := range g {
		if n > 0 {
			cons.sess.s.Grant(cons.tag, n)
		}
	}
}

// takeFor removes and returns the grants for consumers of session s.
func (g grants) takeFor(s *nodeSession) []storage.Grant {
	var out []storage.Grant
	for cons, n := range g {
		if cons.sess == s {
			if n > 0 {
				out = append(out, storage.Grant{Tag: cons.tag, Credit: n})
			}
			delete(g, cons)
		}
	}
	return out
}

// openingCreditLocked decides a new consumer's credit and registers it.
func (ch *channel) openingCreditLocked(cons *consumer) (credit uint32, unlimited bool) {
	if cons.noAck {
		return ch.c.cfg.NoAckWindow, false
	}
	cons.cs.limit = ch.prefetch
	ch.mu.order = append(ch.mu.order, cons)
	if ch.globalPrefetch == 0 {
		cons.cs.credit = cons.cs.limit
		cons.cs.unlimited = cons.cs.limit == 0
		ch.mu.creditOut += cons.cs.credit
		return cons.cs.credit, cons.cs.unlimited
	}
	return 0, false // the shared budget is handed out by rebalanceLocked
}

// deliveredLocked accounts deliveries to a manual-ack consumer.
func (ch *channel) deliveredLocked(cons *consumer, n uint32) {
	used := min(n, cons.cs.credit)
	cons.cs.credit -= used
	ch.mu.creditOut -= used
	cons.cs.held += n
	ch.mu.unacked += n
}

// settledLocked accounts settled deliveries and returns the credit to grant.
func (ch *channel) settledLocked(settled map[*consumer]uint32) grants {
	g := grants{}
	for cons, n := range settled {
		n = min(n, cons.cs.held)
		cons.cs.held -= n
		ch.mu.unacked -= min(n, ch.mu.unacked)
		if ch.globalPrefetch == 0 && !cons.cs.unlimited && ch.isActiveLocked(cons) {
			cons.cs.credit += n
			ch.mu.creditOut += n
			g[cons] += n
		}
	}
	if ch.globalPrefetch > 0 {
		for cons, n := range ch.rebalanceLocked() {
			g[cons] += n
		}
	}
	return g
}

// rebalanceLocked spreads the global budget over eligible consumers.
func (ch *channel) rebalanceLocked() grants {
	g := grants{}
	budget := int64(ch.globalPrefetch) - int64(ch.mu.unacked) - int64(ch.mu.creditOut)
	for budget > 0 {
		given := false
		for i := 0; i < len(ch.mu.order) && budget > 0; i++ {
			cons := ch.mu.order[(ch.mu.rr+i)%len(ch.mu.order)]
			if cons.cs.limit != 0 && cons.cs.held+cons.cs.credit >= cons.cs.limit {
				continue
			}
			cons.cs.credit++
			ch.mu.creditOut++
			g[cons]++
			budget--
			given = true
		}
		if !given {
			break
		}
	}
	if len(ch.mu.order) > 0 {
		ch.mu.rr = (ch.mu.rr + 1) % len(ch.mu.order)
	}
	return g
}

// removeConsumerLocked forgets a consumer: its outstanding credit returns to
// the budget; its unacked deliveries stay counted until settled.
func (ch *channel) removeConsumerLocked(cons *consumer) {
	delete(ch.consumers, cons.tag)
	for i, c := range ch.mu.order {
		if c == cons {
			ch.mu.order = append(ch.mu.order[:i], ch.mu.order[i+1:]...)
			ch.mu.creditOut -= min(cons.cs.credit, ch.mu.creditOut)
			cons.cs.credit = 0
			break
		}
	}
}

func (ch *channel) isActiveLocked(cons *consumer) bool {
	c, ok := ch.consumers[cons.tag]
	return ok && c == cons
}

// rebalanceIfGlobalLocked hands out budget freed by a departed consumer.
func (ch *channel) rebalanceIfGlobalLocked() grants {
	if ch.globalPrefetch == 0 {
		return nil
	}
	return ch.rebalanceLocked()
}

// liftedCredit is what a consumer that had no prefetch of its own gets when
// the global limit is lifted: storage cannot turn a limited consumer into an
// unlimited one, so it gets more credit than any channel holds.
const liftedCredit = 1 << 30

// liftGlobalLocked ends the shared budget (a basic.qos global=false after a
// global one, as RabbitMQ 3.10): consumers with a prefetch of their own go
// back to it; those without one are made effectively unlimited.
func (ch *channel) liftGlobalLocked() grants {
	g := grants{}
	for _, cons := range ch.mu.order {
		if cons.cs.limit != 0 {
			if room := cons.cs.limit - min(cons.cs.limit, cons.cs.held+cons.cs.credit); room > 0 {
				cons.cs.credit += room
				ch.mu.creditOut += room
				g[cons] += room
			}
			continue
		}
		cons.cs.unlimited = true
		g[cons] += liftedCredit
	}
	return g
}
