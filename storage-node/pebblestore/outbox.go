package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/warrenmq/warren/api/storage"
)

// OutboxEntry is a dead letter waiting to be routed. Durable entries come
// from durable records and survive a restart; the others (their message
// would not have survived either) are dropped by the first reader after a
// restart.
type OutboxEntry struct {
	Seq     uint64
	Durable bool
	Boot    uint64 // the node boot that wrote it
	DL      storage.DeadLetter
}

// Outbox value: version:1 flags:1 boot:uvarint queue:uvarint vhost
// exchange (uvarint-len strings) keys:uvarint then each key, then a
// message record. Version 1 entries, written before dead letters named
// their source queue, have no queue field and read back with queue 0.
func appendOutbox(b []byte, e *OutboxEntry) []byte {
	var flags byte
	if e.Durable {
		flags = 1
	}
	b = append(b, outboxVersion, flags)
	b = binary.AppendUvarint(b, e.Boot)
	b = binary.AppendUvarint(b, uint64(e.DL.Queue))
	b = appendStr(b, e.DL.VHost)
	b = appendStr(b, e.DL.Exchange)
	b = binary.AppendUvarint(b, uint64(len(e.DL.RoutingKeys)))
	for _, k := range e.DL.RoutingKeys {
		b = appendStr(b, k)
	}
	return appendRecord(b, e.DL.Msg, 0)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func decodeOutbox(seq uint64, val []byte) (OutboxEntry, error) {
	r := reader{b: append([]byte(nil), val...)}
	v := r.byte()
	if v != outboxVersion && v != 1 {
		return OutboxEntry{}, fmt.Errorf("outbox version %d: %w", v, ErrCorrupt)
	}
	e := OutboxEntry{Seq: seq, Durable: r.byte()&1 != 0, Boot: r.uvarint()}
	if v == outboxVersion {
		e.DL.Queue = storage.QueueID(r.uvarint())
	}
	e.DL.VHost = r.str()
	e.DL.Exchange = r.str()
	n := r.uvarint()
	if n > uint64(len(val)) {
		return OutboxEntry{}, fmt.Errorf("outbox with %d routing keys: %w", n, ErrCorrupt)
	}
	for range n {
		e.DL.RoutingKeys = append(e.DL.RoutingKeys, r.str())
	}
	if r.err != nil {
		return OutboxEntry{}, r.err
	}
	m, _, err := decodeRecord(r.rest())
	if err != nil {
		return OutboxEntry{}, err
	}
	e.DL.Msg = m
	return e, nil
}

// ReadOutbox returns up to max entries of shard's outbox range with
// seq >= from, in order.
func (d *DB) ReadOutbox(shard uint8, from uint64, max int) ([]OutboxEntry, error) {
	it, err := d.db.NewIter(&pebble.IterOptions{
		LowerBound: outboxKey(shard, from),
		UpperBound: outboxKey(shard, math.MaxUint64),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []OutboxEntry
	for it.First(); it.Valid() && len(out) < max; it.Next() {
		seq := binary.BigEndian.Uint64(it.Key()[2:])
		e, err := decodeOutbox(seq, it.Value())
		if err != nil {
			return out, fmt.Errorf("outbox entry %d/%d: %w", shard, seq, err)
		}
		out = append(out, e)
	}
	return out, it.Error()
}

// OutboxEnd is one past the highest sequence number in shard's outbox
// range (1 when it is empty).
func (d *DB) OutboxEnd(shard uint8) (uint64, error) {
	it, err := d.db.NewIter(&pebble.IterOptions{
		LowerBound: outboxKey(shard, 0),
		UpperBound: outboxKey(shard, math.MaxUint64),
	})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 1, it.Error()
	}
	return binary.BigEndian.Uint64(it.Key()[2:]) + 1, nil
}

// OutboxShards lists the shard ranges that hold outbox entries (a restart
// with fewer shards must still drain the others).
func (d *DB) OutboxShards() ([]uint8, error) {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixOutbox}, UpperBound: []byte{prefixOutbox + 1}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []uint8
	for valid := it.First(); valid; {
		sh := it.Key()[1]
		out = append(out, sh)
		if sh == math.MaxUint8 {
			break
		}
		valid = it.SeekGE([]byte{prefixOutbox, sh + 1})
	}
	return out, it.Error()
}

// Boot increments and returns the persisted boot counter, which tells
// outbox entries of this run from those of earlier ones.
func (d *DB) Boot() (uint64, error) {
	key := []byte(keyBoot)
	var boot uint64
	v, closer, err := d.db.Get(key)
	switch {
	case err == nil:
		boot, _ = binary.Uvarint(v)
		closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		return 0, err
	}
	boot++
	return boot, d.db.Set(key, binary.AppendUvarint(nil, boot), pebble.Sync)
}
