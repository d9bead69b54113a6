package segment

import (
	"encoding/binary"
	"unsafe"

	"github.com/warrenmq/warren/api/storage"
)

// DecodeRecords decodes buf, a run of whole records (as read at an
// Index.Range), verifying each record's CRC. The records' fields, strings
// included, alias buf, which the caller must not modify afterwards: a
// decode costs two allocations, not some per record. A torn last record, a
// bad CRC or a malformed payload is an error wrapping ErrCorrupt, and no
// record is returned.
func DecodeRecords(buf []byte) ([]Record, error) {
	n, err := countRecords(buf)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, n)
	msgs := make([]storage.Message, n) // one allocation for the batch
	off := 0
	for i := range recs {
		size := int(binary.LittleEndian.Uint32(buf[off:]))
		payload := buf[off+recordHeaderSize : off+recordHeaderSize+size : off+recordHeaderSize+size]
		if got, want := checksum(payload), binary.LittleEndian.Uint32(buf[off+4:]); got != want {
			return nil, corrupt("record at %d: CRC %08x, stored %08x", off, got, want)
		}
		recs[i].Msg = &msgs[i]
		if err := decodePayload(payload, &recs[i]); err != nil {
			return nil, corrupt("record at %d: %v", off, err)
		}
		off += recordHeaderSize + size
	}
	return recs, nil
}

// countRecords walks the length fields and checks that the records tile
// buf exactly, so that the decode pass cannot run off its end.
func countRecords(buf []byte) (int, error) {
	n := 0
	for off := 0; off < len(buf); n++ {
		if len(buf)-off < recordHeaderSize {
			return 0, corrupt("torn record header at %d of %d bytes", off, len(buf))
		}
		size := int64(binary.LittleEndian.Uint32(buf[off:]))
		if size < minPayload || size > int64(len(buf)-off-recordHeaderSize) {
			return 0, corrupt("record at %d: payload of %d bytes, %d left", off, size, len(buf)-off-recordHeaderSize)
		}
		off += recordHeaderSize + int(size)
	}
	return n, nil
}

// decodePayload fills r (and r.Msg) from one record's payload.
func decodePayload(p []byte, r *Record) error {
	d := decoder{b: p}
	r.ID = storage.MsgID(d.uint64())
	flags := d.byte()
	if flags&^knownFlags != 0 {
		return corrupt("unknown flags %#x", flags)
	}
	m := r.Msg
	m.Persistent = flags&flagPersistent != 0
	r.Redelivered = flags&flagRedelivered != 0
	m.Priority = d.byte()
	r.Expiry = d.varint()
	m.TTL = d.varint()
	m.Exchange = d.str()
	m.RoutingKey = d.str()
	m.Properties = d.bytes()
	m.Body = d.rest()
	return d.err
}

// decoder reads one payload; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = corrupt("%s at payload offset %d of %d", what, d.off, len(d.b))
	}
}

func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b)-d.off < 8 {
		d.fail("truncated id")
		return 0
	}
	d.off += 8
	return binary.LittleEndian.Uint64(d.b[d.off-8:])
}

func (d *decoder) byte() byte {
	if d.err != nil || d.off >= len(d.b) {
		d.fail("truncated byte")
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// bytes returns a length-prefixed slice aliasing the payload (nil if empty).
func (d *decoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	n, k := binary.Uvarint(d.b[d.off:])
	if k <= 0 || n > uint64(len(d.b)-d.off-k) {
		d.fail("bad length")
		return nil
	}
	d.off += k
	if n == 0 {
		return nil
	}
	p := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return p
}

// str is bytes as a string sharing the payload, without a copy: the caller
// of DecodeRecords promised not to modify buf, so the string stays immutable.
func (d *decoder) str() string {
	p := d.bytes()
	if len(p) == 0 {
		return ""
	}
	return unsafe.String(&p[0], len(p))
}

func (d *decoder) rest() []byte {
	if d.err != nil || d.off == len(d.b) {
		return nil
	}
	p := d.b[d.off:len(d.b):len(d.b)]
	d.off = len(d.b)
	return p
}

// Decode decodes and verifies a whole segment object: header, trailer,
// index and every record, each record's ID matching its index entry.
func Decode(obj []byte) ([]Record, *Index, error) {
	if len(obj) < HeaderSize+TrailerSize {
		return nil, nil, corrupt("object of %d bytes", len(obj))
	}
	if string(obj[:4]) != headerMagic || obj[4] != Version || obj[5]|obj[6]|obj[7] != 0 {
		return nil, nil, corrupt("header %q", obj[:HeaderSize])
	}
	t, err := ReadTrailer(obj)
	if err != nil {
		return nil, nil, err
	}
	if t.ObjectSize() != int64(len(obj)) {
		return nil, nil, corrupt("trailer describes %d bytes, object has %d", t.ObjectSize(), len(obj))
	}
	ix, err := ReadIndex(obj, t)
	if err != nil {
		return nil, nil, err
	}
	off, n := ix.Range(0, ix.Len())
	recs, err := ix.Records(obj[off:off+n], 0, ix.Len())
	if err != nil {
		return nil, nil, err
	}
	return recs, ix, nil
}
