package wire

import "fmt"

const (
	// FrameHeaderSize is type (1) + channel (2) + payload size (4).
	FrameHeaderSize = 7
	// frameOverhead is the header plus the frame-end octet: a frame's total
	// size is its payload plus frameOverhead.
	frameOverhead = FrameHeaderSize + 1
	// DefaultMaxFrameSize is the frame_max a FrameReader enforces until
	// SetMaxFrameSize is called: RabbitMQ's default, 128 KiB including the
	// 8 octets of header and frame end.
	DefaultMaxFrameSize = 131072
	// frameSizeFudge is the slack RabbitMQ allows over the negotiated
	// frame_max (?FRAME_SIZE_FUDGE in rabbit_reader), kept for clients that
	// count frame_max as payload only.
	frameSizeFudge = 8
)

// ProtocolHeader is the 8 octets a 0-9-1 client sends before its first frame.
const ProtocolHeader = "AMQP\x00\x00\x09\x01"

// Frame is one AMQP frame. Payload excludes the header and the frame-end
// octet; a frame from FrameReader.ReadFrame may alias the reader's buffer.
type Frame struct {
	Type    uint8
	Channel uint16
	Payload []byte
}

// FrameError is a connection-level protocol error. Code is the AMQP reply
// code the connection must be closed with (FrameReader always uses
// FrameErrorCode, 501) and Text explains it. Error() has RabbitMQ's
// reply-text form, "FRAME_ERROR - <text>", ready for connection.close.
type FrameError struct {
	Code uint16
	Text string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("%s - %s", ReplyName(e.Code), e.Text)
}

// frameError returns a *FrameError with code 501.
func frameError(format string, args ...any) error {
	return &FrameError{Code: FrameErrorCode, Text: fmt.Sprintf(format, args...)}
}

// knownFrameType reports whether t is one of the four 0-9-1 frame types.
func knownFrameType(t uint8) bool {
	switch t {
	case FrameMethod, FrameHeader, FrameBody, FrameHeartbeat:
		return true
	}
	return false
}
