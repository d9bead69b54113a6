package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/warrenmq/warren/api/amqp"
)

// decoder reads method arguments. The first failure is sticky: later reads
// return zero values and err keeps the first cause, so generated code reads
// every field and checks once, in finish.
type decoder struct {
	b   []byte
	off int
	err error
}

// take returns the next n bytes, or nil (recording an error) when fewer than
// n remain; every length read from the input is checked here before use.
func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.err = fmt.Errorf("%d bytes needed at offset %d, %d left: %w", n, d.off, len(d.b)-d.off, ErrMalformed)
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *decoder) octet() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) short() uint16 {
	if p := d.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) long() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) longlong() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// shortstr reads a short string, which must be valid UTF-8: RabbitMQ closes
// the connection with 501 "Malformed UTF-8 in shortstr" otherwise.
func (d *decoder) shortstr() string {
	b := d.take(uint64(d.octet()))
	if d.err == nil && !utf8.Valid(b) {
		d.err = ErrMalformedUTF8
	}
	return string(b)
}
func (d *decoder) longstr() string { return string(d.take(uint64(d.long()))) }

// table reads a field table; an empty table decodes as nil.
func (d *decoder) table() amqp.Table {
	if d.err != nil {
		return nil
	}
	t, n, err := amqp.ReadTable(d.b[d.off:])
	if err != nil {
		d.err = err
		return nil
	}
	d.off += n
	return t
}

// finish returns the sticky error or, when bytes are left over, an error
// wrapping ErrMalformed; name is the method's name for context.
func (d *decoder) finish(name string) error {
	if d.err == nil && d.off != len(d.b) {
		d.err = fmt.Errorf("%d trailing bytes: %w", len(d.b)-d.off, ErrMalformed)
	}
	if d.err != nil {
		return fmt.Errorf("wire: decode %s: %w", name, d.err)
	}
	return nil
}

// encoder appends method arguments. The first failure is sticky.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) octet(v uint8)     { e.b = append(e.b, v) }
func (e *encoder) short(v uint16)    { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) long(v uint32)     { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) longlong(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

// shortstr appends s with an octet length; over 255 bytes is an error.
func (e *encoder) shortstr(field, s string) {
	if len(s) > math.MaxUint8 {
		e.fail(fmt.Errorf("%s: short string of %d bytes exceeds 255", field, len(s)))
		return
	}
	e.b = append(append(e.b, uint8(len(s))), s...)
}

// longstr appends s with a 32-bit length.
func (e *encoder) longstr(field, s string) {
	if uint64(len(s)) > math.MaxUint32 {
		e.fail(fmt.Errorf("%s: long string of %d bytes exceeds 2^32-1", field, len(s)))
		return
	}
	e.long(uint32(len(s)))
	e.b = append(e.b, s...)
}

// table appends t as a field table.
func (e *encoder) table(field string, t amqp.Table) {
	if e.err != nil {
		return
	}
	b, err := amqp.AppendTable(e.b, t)
	if err != nil {
		e.fail(fmt.Errorf("%s: %w", field, err))
		return
	}
	e.b = b
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// result returns the appended bytes, or the input truncated to start and an
// error naming the method.
func (e *encoder) result(start int, name string) ([]byte, error) {
	if e.err != nil {
		return e.b[:start], fmt.Errorf("wire: encode %s: %w", name, e.err)
	}
	return e.b, nil
}

// bit returns 1<<n when v is set: consecutive bit fields share an octet,
// the first in the least significant bit.
func bit(v bool, n uint) uint8 {
	if v {
		return 1 << n
	}
	return 0
}
