package node

import "github.com/warrenmq/warren/api/storage"

// rateInterval is the sample interval of message rates, in ms: RabbitMQ's
// default collect_statistics_interval. Intervals are aligned on the clock
// (they start at unix ms divisible by it), so a queue's rate is one figure
// for every reader until the next interval ends.
const rateInterval = 5000

// rateSampler turns a queue's cumulative counts into rates: the events of
// the last complete interval, per second. It keeps no timer: a queue's
// counts change only while its shard applies a command to it, and the
// shard observes the queue at the end of every such iteration (and before
// its stats are read), so the counts when an interval began are those of
// the last observation before it. Owned by the queue's shard goroutine.
type rateSampler struct {
	interval int64                 // of the last observation: unix ms / rateInterval
	start    storage.MessageCounts // when that interval began
	prev     storage.MessageCounts // when the interval before it began
	last     storage.MessageCounts // at the last observation
}

// observe records counts c at now (unix ms).
func (r *rateSampler) observe(now int64, c storage.MessageCounts) {
	i := now / rateInterval
	switch i {
	case r.interval:
	case r.interval + 1:
		r.prev, r.start = r.start, r.last
	default: // a whole interval without an observation passed: nothing changed
		r.prev, r.start = r.last, r.last
	}
	r.interval, r.last = i, c
}

// rates are the events per second of the last complete interval before the
// last observation.
func (r *rateSampler) rates() storage.MessageRates {
	return ratesBetween(r.prev, r.start, rateInterval)
}

// ratesBetween are the rates of the events counted from a to b, ms apart.
func ratesBetween(a, b storage.MessageCounts, ms int64) storage.MessageRates {
	per := func(x, y uint64) float64 { return float64(y-x) * 1000 / float64(ms) }
	return storage.MessageRates{
		Publish: per(a.Publish, b.Publish), Deliver: per(a.Deliver, b.Deliver),
		DeliverNoAck: per(a.DeliverNoAck, b.DeliverNoAck), Get: per(a.Get, b.Get),
		GetNoAck: per(a.GetNoAck, b.GetNoAck), GetEmpty: per(a.GetEmpty, b.GetEmpty),
		Redeliver: per(a.Redeliver, b.Redeliver), Ack: per(a.Ack, b.Ack),
	}
}

// stats is the queue's QueueStats with its rates as of the shard's now.
func (s *shard) stats(qs *qstate) storage.QueueStats {
	st := queueStats(qs)
	qs.rates.observe(s.now, st.Counts)
	st.Rates = qs.rates.rates()
	return st
}
