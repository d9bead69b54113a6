package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/warrenmq/warren/api/amqp"
)

// ErrMalformed is wrapped by errors for method arguments that are truncated,
// over-long or followed by trailing bytes. It is amqp.ErrMalformed, so table
// decoding errors match it too. RabbitMQ answers such a frame with 501
// FRAME_ERROR.
var ErrMalformed = amqp.ErrMalformed

// ErrMalformedUTF8 is returned for a short string argument that is not valid
// UTF-8; its text is RabbitMQ's. It wraps ErrMalformed.
var ErrMalformedUTF8 = fmt.Errorf("Malformed UTF-8 in shortstr: %w", ErrMalformed)

// ErrUnknownMethod is wrapped by DecodeMethod's error when the class id or
// method id is not in the spec.
var ErrUnknownMethod = errors.New("unknown AMQP method")

// Method is one AMQP method with its arguments. Every method struct of the
// spec implements it through a pointer receiver (e.g. *BasicPublish).
type Method interface {
	ClassID() uint16
	MethodID() uint16
	// Name is the spec's dotted name, e.g. "basic.publish".
	Name() string
	// HasContent reports whether a content header and body follow the method.
	HasContent() bool
	// Append appends class-id, method-id and the arguments. On error (a
	// short string over 255 bytes, an unencodable table) it returns b
	// unchanged, so a caller appending into a frame buffer is left intact.
	Append(b []byte) ([]byte, error)
}

// decodable is what the generated method structs implement beyond Method:
// Decode(args) overwrites every field from the arguments that follow the
// class and method ids.
type decodable interface {
	Method
	Decode(args []byte) error
}

// DecodeMethod decodes a method frame payload: class-id, method-id and the
// arguments. Strings and tables are copied, so the result does not alias
// payload. Errors wrap ErrUnknownMethod for ids not in the spec and
// ErrMalformed for truncated or malformed arguments (trailing bytes too).
func DecodeMethod(payload []byte) (Method, error) {
	if len(payload) < 4 {
		return nil, fmt.Errorf("wire: method payload of %d bytes has no class and method id: %w", len(payload), ErrMalformed)
	}
	classID := binary.BigEndian.Uint16(payload)
	methodID := binary.BigEndian.Uint16(payload[2:])
	m := newMethod(classID, methodID)
	if m == nil {
		return nil, fmt.Errorf("wire: class %d method %d: %w", classID, methodID, ErrUnknownMethod)
	}
	if err := m.Decode(payload[4:]); err != nil {
		return nil, err
	}
	return m, nil
}
