package amqp

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Table is an AMQP field table. Keys are short strings (at most 255 bytes).
// Values are the Go types listed on AppendTable. A decoded empty table is nil.
type Table map[string]any

// Decimal is the 'D' field value: Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// MaxDepth bounds how deeply tables and arrays may nest, counting the
// outermost table as 1. Decoders reject deeper input as malformed (so a
// hostile peer cannot exhaust the stack); encoders reject it too, which also
// stops a table that contains itself.
const MaxDepth = 100

// AppendTable appends t as a field table: a 32-bit byte length, then each
// entry as a short-string key, a type tag and the value. Keys are written in
// sorted order, so the output is deterministic.
//
// Value types and the RabbitMQ tags they are written with: nil 'V', bool 't',
// int8 'b', uint8 'B', int16 's', uint16 'u', int32 'I', uint32 'i', int64
// and int 'l', float32 'f', float64 'd', Decimal 'D', string 'S' (long
// string), []byte 'x', time.Time 'T' (whole seconds), []any 'A', Table and
// map[string]any 'F'.
//
// On error (unsupported value type, key over 255 bytes, nesting deeper than
// MaxDepth) it returns b unchanged and an error naming the cause.
func AppendTable(b []byte, t Table) ([]byte, error) {
	out, err := appendTable(b, t, 1)
	if err != nil {
		return b, err
	}
	return out, nil
}

// ReadTable decodes the field table at the start of b. n is the number of
// bytes consumed, including the 4-byte length. The table never aliases b.
// Errors wrap ErrMalformed; on error t is nil and n is 0.
func ReadTable(b []byte) (t Table, n int, err error) {
	d := decoder{b: b}
	t = d.table()
	if d.err != nil {
		return nil, 0, d.err
	}
	return t, d.off, nil
}

func appendTable(b []byte, t Table, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return b, fmt.Errorf("amqp: table nested deeper than %d", MaxDepth)
	}
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	var stack [16]string
	for _, k := range sortedKeys(stack[:0], t) {
		if len(k) > math.MaxUint8 {
			return b, fmt.Errorf("amqp: table key of %d bytes exceeds 255", len(k))
		}
		b = append(append(b, uint8(len(k))), k...)
		var err error
		if b, err = appendValue(b, t[k], depth); err != nil {
			return b, fmt.Errorf("amqp: key %q: %w", k, err)
		}
	}
	return patchLength(b, start)
}

// sortedKeys appends t's keys to dst in sorted order. dst lets the caller
// supply stack storage so small tables sort without allocating.
func sortedKeys(dst []string, t Table) []string {
	for k := range t {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

// patchLength writes the byte length of b[start+4:] into b[start:start+4].
func patchLength(b []byte, start int) ([]byte, error) {
	n := len(b) - start - 4
	if uint64(n) > math.MaxUint32 {
		return b, fmt.Errorf("amqp: encoded length %d exceeds 2^32-1", n)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

// MarshalTable encodes a table for storage or transport, as a standalone
// field table (with its length prefix). An empty table encodes as nil.
func MarshalTable(t Table) ([]byte, error) {
	if len(t) == 0 {
		return nil, nil
	}
	return AppendTable(nil, t)
}

// UnmarshalTable decodes what MarshalTable produced; nil decodes as nil.
func UnmarshalTable(b []byte) (Table, error) {
	if len(b) == 0 {
		return nil, nil
	}
	t, _, err := ReadTable(b)
	return t, err
}
