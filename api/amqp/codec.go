package amqp

import (
	"encoding/binary"
	"fmt"
	"math"
)

// decoder reads AMQP primitives from b. The first failure is sticky: later
// reads return zero values and err keeps the first cause, so generated code
// reads every field and checks once at the end.
type decoder struct {
	b   []byte
	off int
	err error
}

// fail records the first error.
func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// take returns the next n bytes, or nil (and records an error) when fewer
// than n remain. It is the only place that bounds-checks, so every length
// read from the input passes through it before any allocation.
func (d *decoder) take(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(malformed("%s of %d bytes at offset %d exceeds the %d bytes left", what, n, d.off, len(d.b)-d.off))
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *decoder) octet() uint8 {
	if p := d.take(1, "octet"); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) short() uint16 {
	if p := d.take(2, "short"); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) long() uint32 {
	if p := d.take(4, "long"); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) longlong() uint64 {
	if p := d.take(8, "longlong"); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// shortstr reads an octet length and that many bytes, copied into a string.
func (d *decoder) shortstr() string {
	n := d.octet()
	return string(d.take(uint64(n), "short string"))
}

// longstr reads a 32-bit length and that many bytes, copied into a string.
func (d *decoder) longstr() string {
	n := d.long()
	return string(d.take(uint64(n), "long string"))
}

// table reads a top-level field table.
func (d *decoder) table() Table {
	return d.tableAt(1)
}

// finish reports the sticky error, or an error if bytes are left over.
func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.err = malformed("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}

// encoder appends AMQP primitives to b. The first failure is sticky and
// later appends are skipped.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) octet(v uint8)     { e.b = append(e.b, v) }
func (e *encoder) short(v uint16)    { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) long(v uint32)     { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) longlong(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

// shortstr appends s with an octet length; s longer than 255 bytes is an error.
func (e *encoder) shortstr(field, s string) {
	if len(s) > math.MaxUint8 {
		e.fail(fmt.Errorf("%s: short string of %d bytes exceeds 255", field, len(s)))
		return
	}
	e.b = append(e.b, uint8(len(s)))
	e.b = append(e.b, s...)
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
func (e *encoder) table(field string, t Table) {
	if e.err != nil {
		return
	}
	b, err := AppendTable(e.b, t)
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
