package queue

import "slices"

// SessionID names a node session (one gateway channel).
type SessionID uint64

// Consumer is one basic.consume on the queue. The caller fills the exported
// fields before Consume; afterwards the queue owns it.
type Consumer struct {
	Session   SessionID
	Tag       string
	NoAck     bool
	Exclusive bool
	Priority  int32
	// Unlimited consumers never run out of credit (ConsumerSpec.Credit 0).
	Unlimited bool
	// Credit is how many more deliveries the consumer may receive.
	Credit uint32
	// Owner is the caller's handle (the node's session); the queue never
	// looks at it.
	Owner any

	seq    uint64          // registration order
	shared *sessionUnacked // the session's unacked count on this queue
}

// sessionUnacked counts a session's unacked messages on one queue.
type sessionUnacked struct{ n int }

func (c *Consumer) hasCredit() bool { return c.Unlimited || c.Credit > 0 }

func (c *Consumer) spend() {
	if !c.Unlimited {
		c.Credit--
	}
}

// group is the consumers of one priority, served round-robin.
type group struct {
	prio    int32
	members []*Consumer
	next    int
}

// consumerSet picks who gets the next message: with single-active-consumer
// only the earliest registered consumer; otherwise the highest priority
// group that has a consumer with credit, round-robin within the group.
type consumerSet struct {
	all    []*Consumer // registration order
	groups []group     // highest priority first
	sac    bool
	seq    uint64
	// The round-robin position the last pick moved, so that unpick can put
	// it back when no message could be handed out after all.
	undoGroup, undoNext int
}

func (s *consumerSet) len() int { return len(s.all) }

// exclusiveHeld reports whether an exclusive consumer holds the queue.
func (s *consumerSet) exclusiveHeld() bool {
	return len(s.all) > 0 && s.all[0].Exclusive
}

func (s *consumerSet) find(sess SessionID, tag string) *Consumer {
	for _, c := range s.all {
		if c.Session == sess && c.Tag == tag {
			return c
		}
	}
	return nil
}

func (s *consumerSet) add(c *Consumer) {
	s.seq++
	c.seq = s.seq
	s.all = append(s.all, c)
	i := 0
	for i < len(s.groups) && s.groups[i].prio > c.Priority {
		i++
	}
	if i == len(s.groups) || s.groups[i].prio != c.Priority {
		s.groups = slices.Insert(s.groups, i, group{prio: c.Priority})
	}
	s.groups[i].members = append(s.groups[i].members, c)
}

func (s *consumerSet) remove(c *Consumer) {
	s.all = slices.DeleteFunc(s.all, func(x *Consumer) bool { return x == c })
	for i := range s.groups {
		g := &s.groups[i]
		j := slices.Index(g.members, c)
		if j < 0 {
			continue
		}
		g.members = slices.Delete(g.members, j, j+1)
		if j < g.next {
			g.next--
		}
		if g.next >= len(g.members) {
			g.next = 0
		}
		if len(g.members) == 0 {
			s.groups = slices.Delete(s.groups, i, i+1)
		}
		return
	}
}

// active is the single active consumer, or nil.
func (s *consumerSet) active() *Consumer {
	if !s.sac || len(s.all) == 0 {
		return nil
	}
	return s.all[0]
}

// pick returns the consumer that gets the next message, or nil when no
// eligible consumer has credit.
func (s *consumerSet) pick() *Consumer {
	if s.sac {
		if c := s.active(); c != nil && c.hasCredit() {
			return c
		}
		return nil
	}
	for gi := range s.groups {
		next := s.groups[gi].next
		if c := s.groups[gi].pick(); c != nil {
			s.undoGroup, s.undoNext = gi, next
			return c
		}
	}
	return nil
}

// unpick undoes the last pick, which must be the last change to the set:
// the message it was for is not readable yet, and the consumer whose turn
// it was must still get it when it is (a run that never waited would have
// handed it to that consumer).
func (s *consumerSet) unpick() {
	if !s.sac {
		s.groups[s.undoGroup].next = s.undoNext
	}
}

func (g *group) pick() *Consumer {
	n := len(g.members)
	for i := 0; i < n; i++ {
		j := g.next + i
		if j >= n {
			j -= n
		}
		if c := g.members[j]; c.hasCredit() {
			g.next = j + 1
			if g.next == n {
				g.next = 0
			}
			return c
		}
	}
	return nil
}
