package pebblestore

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/queue"
)

// Segment is a segment table entry: one object in the object store holding
// the records of one lane and kind with First <= ID <= Last (some of them
// may have been acked before the upload; Count is what the object holds).
type Segment struct {
	Queue storage.QueueID
	Lane  uint8
	Kind  queue.Stored // Durable ('g' entry) or Spill ('u' entry)
	First storage.MsgID
	Last  storage.MsgID
	Count int64 // records in the object
	Bytes int64 // their body bytes
	// ObjSize and IndexOff let a reader fetch index and trailer with one
	// ranged read, without a Stat.
	ObjSize  int64
	IndexOff int64
	// Boot and Seq make the object key unique across retries and restarts.
	Boot uint64
	Seq  uint64
}

// Table entry value: version:1 last count bytes objsize indexoff boot seq,
// each a uvarint. The object key is derived from key and value, so it is
// not stored.
const segmentVersion = 1

func appendSegment(b []byte, s *Segment) []byte {
	b = append(b, segmentVersion)
	for _, v := range []uint64{uint64(s.Last), uint64(s.Count), uint64(s.Bytes),
		uint64(s.ObjSize), uint64(s.IndexOff), s.Boot, s.Seq} {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// decodeSegment decodes a table entry from its key and value. It checks
// what a reader relies on: First <= Last < MaxUint64 (so [First, Last+1)
// is a range), 0 < Count <= Last-First+1, and the index inside the object.
func decodeSegment(key, val []byte) (Segment, error) {
	s, ok := segmentOfKey(key)
	if !ok {
		return Segment{}, fmt.Errorf("segment key %x: %w", key, ErrCorrupt)
	}
	r := reader{b: val}
	if v := r.byte(); v != segmentVersion {
		return Segment{}, fmt.Errorf("segment entry version %d: %w", v, ErrCorrupt)
	}
	s.Last = storage.MsgID(r.uvarint())
	s.Count, s.Bytes = r.int64(), r.int64()
	s.ObjSize, s.IndexOff = r.int64(), r.int64()
	s.Boot, s.Seq = r.uvarint(), r.uvarint()
	if r.err == nil && r.off != len(val) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return Segment{}, fmt.Errorf("segment %x: %w", key, r.err)
	}
	return s, s.check()
}

func (s *Segment) check() error {
	switch {
	case s.Last < s.First || s.Last == math.MaxUint64:
		return fmt.Errorf("segment %d/%d/%d: last %d: %w", s.Queue, s.Lane, s.First, s.Last, ErrCorrupt)
	case s.Count <= 0 || uint64(s.Count-1) > uint64(s.Last-s.First):
		return fmt.Errorf("segment %d/%d/%d: %d records in [%d, %d]: %w", s.Queue, s.Lane, s.First, s.Count, s.First, s.Last, ErrCorrupt)
	case s.IndexOff > s.ObjSize:
		return fmt.Errorf("segment %d/%d/%d: index at %d of %d bytes: %w", s.Queue, s.Lane, s.First, s.IndexOff, s.ObjSize, ErrCorrupt)
	}
	return nil
}

// int64 is a uvarint that must fit an int64 (sizes and counts).
func (r *reader) int64() int64 {
	v := r.uvarint()
	if v > math.MaxInt64 {
		r.fail("value past int64")
		return 0
	}
	return int64(v)
}

func segmentPrefix(k queue.Stored) byte {
	if k == queue.Durable {
		return prefixSegment
	}
	return prefixSpillSegment
}

func coldAckPrefix(k queue.Stored) byte {
	if k == queue.Durable {
		return prefixColdAck
	}
	return prefixSpillColdAck
}

func coldRangePrefix(k queue.Stored) byte {
	if k == queue.Durable {
		return prefixColdRange
	}
	return prefixSpillRange
}

// IDRange is the IDs with From <= ID < To.
type IDRange struct{ From, To storage.MsgID }

// decodeColdRange decodes a range cold ack from its key and value: the
// value is to:8, past from.
func decodeColdRange(key, val []byte) (IDRange, error) {
	if len(key) != msgKeyLen || len(val) != 8 {
		return IDRange{}, fmt.Errorf("range cold ack %x = %x: %w", key, val, ErrCorrupt)
	}
	r := IDRange{From: msgIDOf(key), To: storage.MsgID(binary.BigEndian.Uint64(val))}
	if r.To <= r.From {
		return IDRange{}, fmt.Errorf("range cold ack [%d, %d): %w", r.From, r.To, ErrCorrupt)
	}
	return r, nil
}

// laneKey is prefix qid:8 lane:1 id:8, the shape of records, table entries
// and cold acks alike.
func laneKey(prefix byte, q storage.QueueID, lane uint8, id storage.MsgID) []byte {
	k := make([]byte, msgKeyLen)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], uint64(q))
	k[9] = lane
	binary.BigEndian.PutUint64(k[10:], uint64(id))
	return k
}

func segmentKey(s *Segment) []byte {
	return laneKey(segmentPrefix(s.Kind), s.Queue, s.Lane, s.First)
}

// segmentOfKey fills queue, lane, kind and first from a table entry key.
func segmentOfKey(key []byte) (Segment, bool) {
	if len(key) != msgKeyLen || (key[0] != prefixSegment && key[0] != prefixSpillSegment) {
		return Segment{}, false
	}
	kind := queue.Durable
	if key[0] == prefixSpillSegment {
		kind = queue.Spill
	}
	return Segment{Queue: queueIDOf(key), Lane: key[9], Kind: kind, First: msgIDOf(key)}, true
}

// ObjectKey is the segment's key in the object store under node id nid:
// <nid:016x>/<qid:016x>/<lane:03d>/<p|t><first:016x>-<boot:x>-<seq:x>.
func (s *Segment) ObjectKey(nid uint64) string {
	kind := byte('p')
	if s.Kind == queue.Spill {
		kind = 't'
	}
	b := make([]byte, 0, 80)
	b = appendHex16(b, nid)
	b = append(b, '/')
	b = appendHex16(b, uint64(s.Queue))
	b = fmt.Appendf(b, "/%03d/%c", s.Lane, kind)
	b = appendHex16(b, uint64(s.First))
	b = append(b, '-')
	b = strconv.AppendUint(b, s.Boot, 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, s.Seq, 16)
	return string(b)
}

func appendHex16(b []byte, v uint64) []byte {
	return fmt.Appendf(b, "%016x", v)
}

// ParseObjectKey is the inverse of ObjectKey for the fields the key holds
// (Queue, Lane, Kind, First, Boot, Seq). The orphan sweep deletes only
// objects whose key parses, so it never touches a foreign object.
func ParseObjectKey(key string) (nid uint64, s Segment, err error) {
	bad := func(why string) (uint64, Segment, error) {
		return 0, Segment{}, fmt.Errorf("object key %q: %s: %w", key, why, ErrCorrupt)
	}
	parts := strings.Split(key, "/")
	if len(parts) != 4 || len(parts[0]) != 16 || len(parts[1]) != 16 || len(parts[2]) != 3 {
		return bad("not nid/qid/lane/name")
	}
	nid, err1 := strconv.ParseUint(parts[0], 16, 64)
	q, err2 := strconv.ParseUint(parts[1], 16, 64)
	lane, err3 := strconv.ParseUint(parts[2], 10, 8)
	name := strings.Split(parts[3], "-")
	if err1 != nil || err2 != nil || err3 != nil || len(name) != 3 || len(name[0]) != 17 {
		return bad("bad field")
	}
	switch name[0][0] {
	case 'p':
		s.Kind = queue.Durable
	case 't':
		s.Kind = queue.Spill
	default:
		return bad("bad kind")
	}
	first, err1 := strconv.ParseUint(name[0][1:], 16, 64)
	boot, err2 := strconv.ParseUint(name[1], 16, 64)
	seq, err3 := strconv.ParseUint(name[2], 16, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return bad("bad number")
	}
	s.Queue, s.Lane, s.First, s.Boot, s.Seq = storage.QueueID(q), uint8(lane), storage.MsgID(first), boot, seq
	if s.ObjectKey(nid) != key { // non-canonical spellings (upper case, '+', leading zeros) are foreign
		return bad("not canonical")
	}
	return nid, s, nil
}
