package storagegrpc

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/warrenmq/warren/api/storage"
)

// A batch of publishes travels as one bytes field in this layout rather
// than as a protobuf message per publish: decoding a hundred nested
// messages cost a gRPC hop a thousand allocations, and this layout costs
// three, with every message's fields pointing into the one buffer.
//
//	batch   = uvarint(count) publish*
//	publish = uvarint(nqueues) uvarint(queue)* flags priority varint(ttl)
//	          field(exchange) field(routing key) field(properties) field(body)
//	field   = uvarint(length) bytes
//
// flags bit 0 is Persistent. Deliveries use the same message encoding:
//
//	deliveries = uvarint(count) delivery*
//	delivery   = field(tag) uvarint(queue) uvarint(id) flags priority
//	             varint(ttl) field(exchange) field(routing key)
//	             field(properties) field(body)
//
// where flags bit 1 is Redelivered. Settlements:
//
//	settles = uvarint(count) (uvarint(queue) uvarint(id) kind)*

var errPacked = errors.New("storage: malformed packed batch")

// packPublishes appends batch to buf in the packed layout.
func packPublishes(buf []byte, batch []storage.Publish) []byte {
	size := binary.MaxVarintLen64
	for _, p := range batch {
		m := p.Msg
		size += (1+len(p.Queues))*binary.MaxVarintLen64 + packedSize(m)
	}
	buf = slices.Grow(buf, size)
	buf = binary.AppendUvarint(buf, uint64(len(batch)))
	for _, p := range batch {
		buf = binary.AppendUvarint(buf, uint64(len(p.Queues)))
		for _, q := range p.Queues {
			buf = binary.AppendUvarint(buf, uint64(q))
		}
		buf = appendMessage(buf, p.Msg, 0)
	}
	return buf
}

const (
	flagPersistent  = 1 << 0
	flagRedelivered = 1 << 1
)

// appendMessage encodes m from its flags byte on; flags adds to Persistent.
func appendMessage(buf []byte, m *storage.Message, flags byte) []byte {
	if m.Persistent {
		flags |= flagPersistent
	}
	buf = append(buf, flags, m.Priority)
	buf = binary.AppendVarint(buf, m.TTL)
	buf = appendField(buf, []byte(m.Exchange))
	buf = appendField(buf, []byte(m.RoutingKey))
	buf = appendField(buf, m.Properties)
	return appendField(buf, m.Body)
}

// readMessage decodes what appendMessage wrote into m and returns its flags.
func (r *reader) readMessage(m *storage.Message) byte {
	flags, prio := r.byte(), r.byte()
	m.Persistent, m.Priority = flags&flagPersistent != 0, prio
	m.TTL = r.varint()
	m.Exchange = string(r.field())
	m.RoutingKey = string(r.field())
	m.Properties = r.field()
	m.Body = r.field()
	return flags
}

// packedSize bounds a message's encoding after its flags.
func packedSize(m *storage.Message) int {
	return 2 + 5*binary.MaxVarintLen64 + len(m.Exchange) + len(m.RoutingKey) + len(m.Properties) + len(m.Body)
}

// packDeliveries appends the encoding of a batch of deliveries to buf.
func packDeliveries(buf []byte, batch []storage.Delivery) []byte {
	size := binary.MaxVarintLen64
	for _, d := range batch {
		size += 3*binary.MaxVarintLen64 + len(d.Tag) + packedSize(d.Msg)
	}
	buf = slices.Grow(buf, size)
	buf = binary.AppendUvarint(buf, uint64(len(batch)))
	for _, d := range batch {
		buf = appendField(buf, []byte(d.Tag))
		buf = binary.AppendUvarint(buf, uint64(d.Queue))
		buf = binary.AppendUvarint(buf, uint64(d.ID))
		var flags byte
		if d.Redelivered {
			flags = flagRedelivered
		}
		buf = appendMessage(buf, d.Msg, flags)
	}
	return buf
}

// unpackDeliveries decodes a packed batch of deliveries; their byte fields
// point into buf. Runs of one consumer's tag share one string.
func unpackDeliveries(buf []byte) ([]storage.Delivery, error) {
	r := reader{buf: buf}
	count := r.uvarint()
	if r.err != nil || count > uint64(len(buf)) {
		return nil, errPacked
	}
	batch := make([]storage.Delivery, count)
	msgs := make([]storage.Message, count)
	var tag string
	for i := range batch {
		d := &batch[i]
		if t := r.field(); string(t) != tag {
			tag = string(t)
		}
		d.Tag = tag
		d.Queue = storage.QueueID(r.uvarint())
		d.ID = storage.MsgID(r.uvarint())
		flags := r.readMessage(&msgs[i])
		d.Redelivered = flags&flagRedelivered != 0
		d.Msg = &msgs[i]
		if r.err != nil {
			return nil, errPacked
		}
	}
	if r.left() != 0 {
		return nil, errPacked
	}
	return batch, nil
}

func appendField(buf, f []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(f)))
	return append(buf, f...)
}

// unpackPublishes decodes a packed batch. The messages' byte fields point
// into buf, which the caller must not modify afterwards.
func unpackPublishes(buf []byte) ([]storage.Publish, error) {
	r := reader{buf: buf}
	count := r.uvarint()
	if r.err != nil || count > uint64(len(buf)) { // a publish takes at least a byte
		return nil, errPacked
	}
	batch := make([]storage.Publish, count)
	msgs := make([]storage.Message, count)
	var ids []storage.QueueID // backing store shared by the publishes' Queues
	for i := range batch {
		nq := r.uvarint()
		if r.err != nil || nq > uint64(r.left()) {
			return nil, errPacked
		}
		if cap(ids)-len(ids) < int(nq) {
			ids = make([]storage.QueueID, 0, max(int(nq), 2*cap(ids), 64))
		}
		start := len(ids)
		for range nq {
			ids = append(ids, storage.QueueID(r.uvarint()))
		}
		qs := ids[start:len(ids):len(ids)] // full cap: appending to one copies out
		m := &msgs[i]
		r.readMessage(m)
		if r.err != nil {
			return nil, errPacked
		}
		batch[i] = storage.Publish{Queues: qs, Msg: m}
	}
	if r.left() != 0 {
		return nil, errPacked
	}
	return batch, nil
}

// packSettles appends the encoding of ops to buf.
func packSettles(buf []byte, ops []storage.Settle) []byte {
	buf = slices.Grow(buf, (1+len(ops)*2)*binary.MaxVarintLen64+len(ops))
	buf = binary.AppendUvarint(buf, uint64(len(ops)))
	for _, op := range ops {
		buf = binary.AppendUvarint(buf, uint64(op.Queue))
		buf = binary.AppendUvarint(buf, uint64(op.ID))
		buf = append(buf, byte(op.Kind))
	}
	return buf
}

// unpackSettles decodes what packSettles wrote; no bytes are no settlements.
func unpackSettles(buf []byte) ([]storage.Settle, error) {
	if len(buf) == 0 {
		return nil, nil
	}
	r := reader{buf: buf}
	count := r.uvarint()
	if r.err != nil || count > uint64(len(buf))/3 { // a settlement takes at least three bytes
		return nil, errPacked
	}
	ops := make([]storage.Settle, count)
	for i := range ops {
		ops[i] = storage.Settle{Queue: storage.QueueID(r.uvarint()), ID: storage.MsgID(r.uvarint()), Kind: storage.SettleKind(r.byte())}
	}
	if r.err != nil || r.left() != 0 {
		return nil, errPacked
	}
	return ops, nil
}

// reader consumes a packed buffer; the first error sticks.
type reader struct {
	buf []byte
	off int
	err error
}

func (r *reader) left() int { return len(r.buf) - r.off }

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf[r.off:])
	if n <= 0 {
		r.err = errPacked
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf[r.off:])
	if n <= 0 {
		r.err = errPacked
		return 0
	}
	r.off += n
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || r.left() < 1 {
		r.err = errPacked
		return 0
	}
	b := r.buf[r.off]
	r.off++
	return b
}

// field returns the next length-prefixed field, nil when empty.
func (r *reader) field() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(r.left()) {
		r.err = errPacked
		return nil
	}
	if n == 0 {
		return nil
	}
	f := r.buf[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return f
}
