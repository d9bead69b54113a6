package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/warrenmq/warren/api/storage"
)

// ErrCorrupt is wrapped by every decoding error of a stored record.
var ErrCorrupt = errors.New("corrupt record")

// Message record value:
//
//	version:1 flags:1 priority:1 expiry:uvarint ttl:varint
//	exchange:uvarint-len+bytes routing-key:uvarint-len+bytes
//	properties:uvarint-len+bytes body:rest
//
// flags bit 0 is delivery-mode 2 (persistent).
const flagPersistent = 1

// recordSize is the encoded size of a message record.
func recordSize(m *storage.Message, expiry int64) int {
	return 3 + uvarintLen(uint64(expiry)) + varintLen(m.TTL) +
		uvarintLen(uint64(len(m.Exchange))) + len(m.Exchange) +
		uvarintLen(uint64(len(m.RoutingKey))) + len(m.RoutingKey) +
		uvarintLen(uint64(len(m.Properties))) + len(m.Properties) + len(m.Body)
}

// putRecord encodes m into dst, which must be recordSize bytes.
func putRecord(dst []byte, m *storage.Message, expiry int64) {
	var flags byte
	if m.Persistent {
		flags |= flagPersistent
	}
	dst[0], dst[1], dst[2] = recordVersion, flags, m.Priority
	n := 3
	n += binary.PutUvarint(dst[n:], uint64(expiry))
	n += binary.PutVarint(dst[n:], m.TTL)
	n += putBytes(dst[n:], m.Exchange)
	n += putBytes(dst[n:], m.RoutingKey)
	n += putBytes(dst[n:], m.Properties)
	copy(dst[n:], m.Body)
}

// appendRecord appends the encoding of m to b.
func appendRecord(b []byte, m *storage.Message, expiry int64) []byte {
	n := len(b)
	b = append(b, make([]byte, recordSize(m, expiry))...)
	putRecord(b[n:], m, expiry)
	return b
}

func putBytes[S string | []byte](dst []byte, s S) int {
	n := binary.PutUvarint(dst, uint64(len(s)))
	return n + copy(dst[n:], s)
}

// decodeRecord decodes a message record. It copies val once; the Message's
// strings and slices all point into that copy, which is never modified.
func decodeRecord(val []byte) (m *storage.Message, expiry int64, err error) {
	buf := append([]byte(nil), val...)
	r := reader{b: buf}
	if v := r.byte(); v != recordVersion {
		return nil, 0, fmt.Errorf("message record version %d: %w", v, ErrCorrupt)
	}
	m = &storage.Message{}
	flags := r.byte()
	m.Persistent = flags&flagPersistent != 0
	m.Priority = r.byte()
	expiry = int64(r.uvarint())
	m.TTL = r.varint()
	m.Exchange = r.str()
	m.RoutingKey = r.str()
	m.Properties = r.bytes()
	m.Body = r.rest()
	if r.err != nil {
		return nil, 0, r.err
	}
	return m, expiry, nil
}

// reader decodes what the codecs here encode; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at offset %d of %d: %w", what, r.off, len(r.b), ErrCorrupt)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("truncated byte")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

// bytes returns a length-prefixed slice aliasing the buffer (nil if empty).
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail("length past end")
		return nil
	}
	if n == 0 {
		return nil
	}
	p := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return p
}

// str is bytes as a string sharing the buffer: the buffer is a private copy
// that nothing writes to after decoding, so the string stays immutable.
func (r *reader) str() string {
	p := r.bytes()
	if len(p) == 0 {
		return ""
	}
	return unsafe.String(&p[0], len(p))
}

func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	p := r.b[r.off:len(r.b):len(r.b)]
	r.off = len(r.b)
	return p
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}
