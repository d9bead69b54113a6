package amqp

import "encoding/binary"

// headerFixedSize is class-id (2) + weight (2) + body-size (8).
const headerFixedSize = 12

// ParseHeader splits a content-header frame payload into its class id, body
// size and raw properties (property-flags and property list, which
// DecodeProperties reads). rawProps aliases payload. The weight field is
// ignored, as RabbitMQ does. A payload too short to hold the fixed fields and
// the property flags is an error wrapping ErrMalformed.
func ParseHeader(payload []byte) (classID uint16, bodySize uint64, rawProps []byte, err error) {
	if len(payload) < headerFixedSize+2 {
		return 0, 0, nil, malformed("content header of %d bytes is shorter than %d", len(payload), headerFixedSize+2)
	}
	classID = binary.BigEndian.Uint16(payload)
	bodySize = binary.BigEndian.Uint64(payload[4:])
	return classID, bodySize, payload[headerFixedSize:], nil
}

// AppendHeader appends a content-header frame payload: class id, weight 0,
// body size and rawProps as given. An empty rawProps is written as property
// flags 0 (no properties), so the payload is always well formed.
func AppendHeader(b []byte, classID uint16, bodySize uint64, rawProps []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, classID)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, bodySize)
	if len(rawProps) == 0 {
		return append(b, 0, 0)
	}
	return append(b, rawProps...)
}
