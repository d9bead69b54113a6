package amqp

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// appendValue appends a type tag and v. depth is that of the enclosing table
// or array.
func appendValue(b []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case []any:
		return appendArray(append(b, 'A'), v, depth+1)
	case Table:
		return appendTable(append(b, 'F'), v, depth+1)
	case map[string]any:
		return appendTable(append(b, 'F'), Table(v), depth+1)
	case string:
		return appendLongBytes(append(b, 'S'), v)
	case []byte:
		return appendLongBytes(append(b, 'x'), v)
	}
	return appendScalar(b, v)
}

// appendScalar appends the fixed-size values.
func appendScalar(b []byte, v any) ([]byte, error) {
	be := binary.BigEndian
	switch v := v.(type) {
	case nil:
		return append(b, 'V'), nil
	case bool:
		if v {
			return append(b, 't', 1), nil
		}
		return append(b, 't', 0), nil
	case int8:
		return append(b, 'b', uint8(v)), nil
	case uint8:
		return append(b, 'B', v), nil
	case int16:
		return be.AppendUint16(append(b, 's'), uint16(v)), nil
	case uint16:
		return be.AppendUint16(append(b, 'u'), v), nil
	case int32:
		return be.AppendUint32(append(b, 'I'), uint32(v)), nil
	case uint32:
		return be.AppendUint32(append(b, 'i'), v), nil
	case int64:
		return be.AppendUint64(append(b, 'l'), uint64(v)), nil
	case int:
		return be.AppendUint64(append(b, 'l'), uint64(v)), nil
	case float32:
		return be.AppendUint32(append(b, 'f'), math.Float32bits(v)), nil
	case float64:
		return be.AppendUint64(append(b, 'd'), math.Float64bits(v)), nil
	case Decimal:
		return be.AppendUint32(append(b, 'D', v.Scale), uint32(v.Value)), nil
	case time.Time:
		return be.AppendUint64(append(b, 'T'), uint64(v.Unix())), nil
	}
	return b, fmt.Errorf("amqp: unsupported field value type %T", v)
}

// appendLongBytes appends s with a 32-bit length.
func appendLongBytes[S string | []byte](b []byte, s S) ([]byte, error) {
	if uint64(len(s)) > math.MaxUint32 {
		return b, fmt.Errorf("amqp: value of %d bytes exceeds 2^32-1", len(s))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...), nil
}

// appendArray appends a field array: the byte length of the encoded values,
// then each value with its tag.
func appendArray(b []byte, vs []any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return b, fmt.Errorf("amqp: array nested deeper than %d", MaxDepth)
	}
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	for i, v := range vs {
		var err error
		if b, err = appendValue(b, v, depth); err != nil {
			return b, fmt.Errorf("amqp: array index %d: %w", i, err)
		}
	}
	return patchLength(b, start)
}

// tableAt reads a field table nested at depth.
func (d *decoder) tableAt(depth int) Table {
	body := d.nested(depth, "table")
	if len(body) == 0 {
		return nil
	}
	sub := decoder{b: body}
	t := make(Table, sizeHint(len(body)))
	for sub.off < len(body) {
		k := sub.shortstr()
		v := sub.value(depth)
		if sub.err != nil {
			d.fail(sub.err)
			return nil
		}
		t[k] = v
	}
	return t
}

// sizeHint guesses a table's entry count from its byte length (an entry
// with a short key and a small value takes about 8 bytes), capped so a
// hostile length cannot make the map large before its entries are read.
func sizeHint(n int) int {
	return min(n/8, 64)
}

// array reads a field array nested at depth.
func (d *decoder) array(depth int) []any {
	body := d.nested(depth, "array")
	if len(body) == 0 {
		return nil
	}
	sub := decoder{b: body}
	var vs []any
	for sub.off < len(body) {
		v := sub.value(depth)
		if sub.err != nil {
			d.fail(sub.err)
			return nil
		}
		vs = append(vs, v)
	}
	return vs
}

// nested checks depth, then reads a 32-bit length and that many bytes.
func (d *decoder) nested(depth int, what string) []byte {
	if depth > MaxDepth {
		d.fail(malformed("%s nested deeper than %d", what, MaxDepth))
		return nil
	}
	n := d.long()
	return d.take(uint64(n), what)
}

// value reads a type tag and the value it introduces; depth is that of the
// enclosing table or array.
func (d *decoder) value(depth int) any {
	switch tag := d.octet(); tag {
	case 'A':
		return d.array(depth + 1)
	case 'F':
		return d.tableAt(depth + 1)
	case 'S':
		return d.longstr()
	case 'x':
		return append([]byte{}, d.take(uint64(d.long()), "byte array")...)
	case 'V':
		return nil
	default:
		return d.scalar(tag)
	}
}

// scalar reads the fixed-size value introduced by tag.
func (d *decoder) scalar(tag uint8) any {
	switch tag {
	case 't':
		return d.octet() != 0
	case 'b':
		return int8(d.octet())
	case 'B':
		return d.octet()
	case 's':
		return int16(d.short())
	case 'u':
		return d.short()
	case 'I':
		return int32(d.long())
	case 'i':
		return d.long()
	case 'l':
		return int64(d.longlong())
	case 'f':
		return math.Float32frombits(d.long())
	case 'd':
		return math.Float64frombits(d.longlong())
	case 'D':
		return Decimal{Scale: d.octet(), Value: int32(d.long())}
	case 'T':
		return time.Unix(int64(d.longlong()), 0).UTC()
	}
	if d.err == nil {
		d.fail(malformed("unknown field type tag %q at offset %d", tag, d.off-1))
	}
	return nil
}
