package conn

import (
	"sort"

	"github.com/warrenmq/warren/api/storage"
)

// delivery is one message delivered on a channel and not yet settled.
type delivery struct {
	tag      uint64
	sess     *nodeSession
	consumer *consumer // nil for basic.get
	queue    storage.QueueID
	id       storage.MsgID
	at       int64 // unix nanos, for the consumer acknowledgement timeout
	settled  bool
}

// deliveries is a channel's ledger of unacked deliveries, ordered by tag.
// Tags grow by one per delivery, so the list stays sorted; acks usually come
// in order and pop from the front, out-of-order ones mark entries settled.
type deliveries struct {
	nextTag uint64
	list    []delivery
	head    int // entries before head are settled
	open    int // unsettled entries
}

func (d *deliveries) init() {
	*d = deliveries{}
}

// add records a delivery and returns its tag.
func (d *deliveries) add(dl delivery) uint64 {
	d.nextTag++
	dl.tag = d.nextTag
	d.list = append(d.list, dl)
	d.open++
	return dl.tag
}

// skipTag consumes a tag for a no-ack delivery, which is never settled.
func (d *deliveries) skipTag() uint64 {
	d.nextTag++
	return d.nextTag
}

// take removes and returns the deliveries a settle names: tag alone, or with
// multiple every open delivery up to tag (tag 0 with multiple means all).
// ok is false when a single tag is unknown or already settled.
func (d *deliveries) take(tag uint64, multiple bool) (out []delivery, ok bool) {
	if multiple {
		// RabbitMQ's collect_acks refuses a multiple settle whose tag is not
		// an outstanding delivery (406 unknown delivery tag); tag 0 means all.
		if tag != 0 {
			if i := d.find(tag); i < 0 || d.list[i].settled {
				return nil, false
			}
		}
		for i := d.head; i < len(d.list) && (tag == 0 || d.list[i].tag <= tag); i++ {
			if !d.list[i].settled {
				out = append(out, d.settle(i))
			}
		}
		d.compact()
		return out, true
	}
	i := d.find(tag)
	if i < 0 || d.list[i].settled {
		return nil, false
	}
	out = append(out, d.settle(i))
	d.compact()
	return out, true
}

func (d *deliveries) find(tag uint64) int {
	rest := d.list[d.head:]
	i := sort.Search(len(rest), func(i int) bool { return rest[i].tag >= tag })
	if i < len(rest) && rest[i].tag == tag {
		return d.head + i
	}
	return -1
}

func (d *deliveries) settle(i int) delivery {
	d.list[i].settled = true
	d.open--
	return d.list[i]
}

// compact drops the settled prefix, and the whole list when it is settled.
func (d *deliveries) compact() {
	for d.head < len(d.list) && d.list[d.head].settled {
		d.head++
	}
	if d.head == len(d.list) {
		d.list, d.head = d.list[:0], 0
	} else if d.head > 1024 && d.head > len(d.list)/2 {
		n := copy(d.list, d.list[d.head:])
		d.list, d.head = d.list[:n], 0
	}
}

// restore puts back deliveries a rolled-back transaction had settled.
func (d *deliveries) restore(dls []delivery) {
	for _, dl := range dls {
		dl.settled = false
		i := sort.Search(len(d.list), func(i int) bool { return d.list[i].tag >= dl.tag })
		if i < len(d.list) && d.list[i].tag == dl.tag {
			d.list[i].settled = false
		} else {
			d.list = append(d.list, delivery{})
			copy(d.list[i+1:], d.list[i:])
			d.list[i] = dl
		}
		if i < d.head {
			d.head = i
		}
		d.open++
	}
}

// oldest returns the time of the oldest unsettled delivery, or 0.
func (d *deliveries) oldest() int64 {
	for i := d.head; i < len(d.list); i++ {
		if !d.list[i].settled {
			return d.list[i].at
		}
	}
	return 0
}

// all returns every unsettled delivery.
func (d *deliveries) all() []delivery {
	out, _ := d.take(0, true)
	return out
}
