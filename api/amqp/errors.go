package amqp

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error returned for input that does not
// follow the AMQP 0-9-1 grammar (truncated, over-long, unknown type tag,
// nested too deep, trailing bytes). Test with errors.Is. RabbitMQ closes the
// connection with 501 FRAME_ERROR for such input.
var ErrMalformed = errors.New("malformed AMQP data")

// malformed returns an error wrapping ErrMalformed that says what was wrong.
func malformed(format string, args ...any) error {
	return fmt.Errorf("amqp: %s: %w", fmt.Sprintf(format, args...), ErrMalformed)
}
