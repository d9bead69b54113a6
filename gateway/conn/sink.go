package conn

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/gateway/wire"
)

// nodeSession is a channel's storage session on one node, and the Sink the
// node pushes that session's deliveries to.
type nodeSession struct {
	ch   *channel
	name string
	s    storage.Session
	// unsynced says settlements went out since the last Barrier, so the
	// next queue method must wait for one (see channel.settled).
	unsynced atomic.Bool
}

var _ storage.Sink = (*nodeSession)(nil)

func (s *nodeSession) close() {
	if s.s != nil {
		_ = s.s.Close()
	}
}

// ended reports whether the node has ended the session (a channel's own
// sessions end only with the channel, so this means the node lost it).
func (s *nodeSession) ended() bool {
	select {
	case <-s.s.Done():
		return true
	default:
		return false
	}
}

// Deliver writes deliveries to the client. Runs on the node's delivery
// goroutine for this session; takes the channel's mu, then the outbox's.
func (s *nodeSession) Deliver(batch []storage.Delivery) {
	ch := s.ch
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var orphans []storage.Settle
	for i := 0; i < len(batch); {
		cons, ok := ch.consumers[batch[i].Tag]
		j := i + 1
		for j < len(batch) && batch[j].Tag == batch[i].Tag {
			j++
		}
		switch {
		case !ok || cons.sess != s:
			// Cancelled before the node saw it: never shown to the client.
			for _, d := range batch[i:j] {
				orphans = append(orphans, storage.Settle{Queue: d.Queue, ID: d.ID, Kind: storage.Requeue})
			}
		case !cons.announced:
			for _, d := range batch[i:j] {
				cons.pending = append(cons.pending, d.Clone())
			}
		default:
			ch.deliverLocked(cons, batch[i:j])
		}
		i = j
	}
	if len(orphans) > 0 {
		go func() { _ = s.s.Settle(orphans, nil) }()
	}
}

// deliverLocked writes basic.deliver frames and records manual-ack deliveries.
func (ch *channel) deliverLocked(cons *consumer, batch []storage.Delivery) {
	if len(batch) == 0 {
		return
	}
	now := time.Now().UnixNano()
	_ = ch.c.out.with(func(w *wire.FrameWriter) error {
		for _, d := range batch {
			var tag uint64
			if cons.noAck {
				tag = ch.mu.deliveries.skipTag()
			} else {
				tag = ch.mu.deliveries.add(delivery{sess: cons.sess, consumer: cons, queue: d.Queue, id: d.ID, at: now})
			}
			m := &ch.mu.deliver // reused: an interface argument would escape a fresh one
			*m = wire.BasicDeliver{
				ConsumerTag: cons.tag, DeliveryTag: tag, Redelivered: d.Redelivered,
				Exchange: d.Msg.Exchange, RoutingKey: d.Msg.RoutingKey,
			}
			if err := w.WriteContent(ch.id, m, basicClass, d.Msg.Properties, d.Msg.Body, ch.c.frameMax); err != nil {
				return err
			}
		}
		if cons.noAck {
			// Recorded under the outbox lock, with the frames it pays for:
			// the writer's next flush, which this write wakes, repays it. Owed
			// after the lock, a flush in between would leave it unpaid until
			// some later write, and the consumer would stall without credit.
			ch.c.credit.owe(cons, uint32(len(batch)))
		}
		return nil
	})
	if !cons.noAck {
		ch.deliveredLocked(cons, uint32(len(batch)))
	}
}

// Cancelled tells the client its consumer is gone (queue deleted, node
// stopping) when it asked for consumer_cancel_notify.
func (s *nodeSession) Cancelled(tag string, reason error) {
	ch := s.ch
	ch.mu.Lock()
	cons, ok := ch.consumers[tag]
	if ok {
		ch.removeConsumerLocked(cons)
	}
	g := ch.rebalanceIfGlobalLocked()
	ch.mu.Unlock()
	g.send()
	if !ok {
		return
	}
	if notify, _ := ch.c.clientCaps["consumer_cancel_notify"].(bool); notify {
		_ = ch.c.out.method(ch.id, &wire.BasicCancel{ConsumerTag: tag, NoWait: true})
	}
}

// creditLedger returns credit to no-ack consumers once their deliveries have
// been written to the socket, so a slow client holds back its deliveries at
// the storage node instead of piling them up in gateway memory.
type creditLedger struct {
	mu   sync.Mutex
	owed map[*consumer]uint32
}

func (l *creditLedger) owe(c *consumer, n uint32) {
	l.mu.Lock()
	if l.owed == nil {
		l.owed = map[*consumer]uint32{}
	}
	l.owed[c] += n
	l.mu.Unlock()
}

// repay runs after each socket write (outbox.onFlush).
func (l *creditLedger) repay() {
	l.mu.Lock()
	owed := l.owed
	l.owed = nil
	l.mu.Unlock()
	for c, n := range owed {
		c.sess.s.Grant(c.tag, n)
	}
}
