package pebblestore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Meta value: version:1 flags:1 next:uvarint dhw:uvarint lanes:uvarint,
// then per lane: lane:1 floor:uvarint count:uvarint bytes:uvarint. Flags
// bit 0 is Meta.Expiries.
const metaVersion = 1

func appendMeta(b []byte, m *queue.Meta) []byte {
	var flags byte
	if m.Expiries {
		flags |= 1
	}
	b = append(b, metaVersion, flags)
	b = binary.AppendUvarint(b, uint64(m.NextID))
	b = binary.AppendUvarint(b, uint64(m.DHW))
	b = binary.AppendUvarint(b, uint64(len(m.Lanes)))
	for _, l := range m.Lanes {
		b = append(b, l.Lane)
		b = binary.AppendUvarint(b, uint64(l.Floor))
		b = binary.AppendUvarint(b, uint64(l.Count))
		b = binary.AppendUvarint(b, uint64(l.Bytes))
	}
	return b
}

func decodeMeta(val []byte) (queue.Meta, error) {
	r := reader{b: val}
	if v := r.byte(); v != metaVersion {
		return queue.Meta{}, fmt.Errorf("meta version %d: %w", v, ErrCorrupt)
	}
	flags := r.byte()
	m := queue.Meta{Expiries: flags&1 != 0, NextID: storage.MsgID(r.uvarint()), DHW: storage.MsgID(r.uvarint())}
	n := r.uvarint()
	if n > 256 {
		return queue.Meta{}, fmt.Errorf("meta with %d lanes: %w", n, ErrCorrupt)
	}
	for range n {
		l := queue.LaneMeta{Lane: r.byte(), Floor: storage.MsgID(r.uvarint())}
		l.Count, l.Bytes = int64(r.uvarint()), int64(r.uvarint())
		m.Lanes = append(m.Lanes, l)
	}
	if r.err == nil && r.off != len(val) {
		r.fail("trailing bytes")
	}
	return m, r.err
}

// The spec is written once per durable queue; JSON keeps it readable and
// lets fields be added without a format change.
func encodeSpec(s *storage.QueueSpec) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a struct of plain fields always marshals
	}
	return b
}

func decodeSpec(val []byte) (storage.QueueSpec, error) {
	var s storage.QueueSpec
	if err := json.Unmarshal(val, &s); err != nil {
		return s, fmt.Errorf("queue spec: %v: %w", err, ErrCorrupt)
	}
	return s, nil
}
