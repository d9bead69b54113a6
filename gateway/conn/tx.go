package conn

import (
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/gateway/wire"
)

// txBuffer holds a transaction's publishes and settlements until commit.
// Declarations and consuming are not transactional (RabbitMQ semantics).
type txBuffer struct {
	publishes []*pubReq
	settles   []settleOp
}

func (ch *channel) txSelect() error {
	if ch.confirm {
		return reply.Errorf(reply.PreconditionFailed, "cannot switch from confirm to tx mode")
	}
	if ch.tx == nil {
		ch.tx = &txBuffer{}
	}
	return ch.c.out.method(ch.id, &wire.TxSelectOk{})
}

// txCommit stores the transaction's publishes, then applies its acks, and
// answers commit-ok only once the publishes are stored.
func (ch *channel) txCommit() error {
	if ch.tx == nil {
		return reply.Errorf(reply.PreconditionFailed, "channel is not transactional")
	}
	tx := ch.tx
	ch.tx = &txBuffer{}
	for _, r := range tx.publishes {
		ch.c.pub.submit(r)
	}
	ch.c.pub.barrier()
	for _, r := range tx.publishes {
		if r.nacked.Load() {
			// Some publish was not stored: commit-ok would claim otherwise
			// (rabbit_channel's "partial tx completion").
			return reply.Errorf(reply.PreconditionFailed, "partial tx completion")
		}
	}
	if err := ch.applySettles(tx.settles); err != nil {
		return err
	}
	return ch.c.out.method(ch.id, &wire.TxCommitOk{})
}

func (ch *channel) txRollback() error {
	if ch.tx == nil {
		return reply.Errorf(reply.PreconditionFailed, "channel is not transactional")
	}
	ch.tx.publishes = nil
	ch.rollbackSettles(ch.tx.settles)
	ch.tx.settles = nil
	return ch.c.out.method(ch.id, &wire.TxRollbackOk{})
}
