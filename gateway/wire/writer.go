package wire

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/warrenmq/warren/api/amqp"
)

// flushThreshold bounds the FrameWriter's buffer: a write that leaves more
// than this many bytes buffered flushes, so a large body never sits in
// memory whole (the buffer stays under flushThreshold + frame_max).
const flushThreshold = 64 << 10

// FrameWriter appends frames to one reused buffer and writes it to w on
// Flush (or when it passes 64 KiB), so a burst of frames costs one write.
// It is owned by a single goroutine (the connection's writer). The first
// write error is sticky: every later call returns it, and the connection
// must be closed. Frames already appended when an error comes back may or
// may not have reached w.
type FrameWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// NewFrameWriter returns a writer that batches frames for w.
func NewFrameWriter(w io.Writer) *FrameWriter {
	return &FrameWriter{w: w, buf: make([]byte, 0, flushThreshold)}
}

// Buffered returns the number of bytes appended but not yet written.
func (w *FrameWriter) Buffered() int { return len(w.buf) }

// Flush writes the buffered frames to w.
func (w *FrameWriter) Flush() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = fmt.Errorf("wire: write frames: %w", err)
	}
	return w.err
}

// WriteHeartbeat appends a heartbeat frame (type 8, channel 0, no payload).
func (w *FrameWriter) WriteHeartbeat() error {
	return w.WriteFrame(Frame{Type: FrameHeartbeat})
}

// WriteFrame appends f as is. It does not check f.Type or the payload size
// against frame_max.
func (w *FrameWriter) WriteFrame(f Frame) error {
	if w.err != nil {
		return w.err
	}
	start := w.startFrame(f.Type, f.Channel)
	w.buf = append(w.buf, f.Payload...)
	return w.endFrame(start)
}

// WriteMethod appends a method frame for m on channel ch. If m cannot be
// encoded nothing is appended. Method frames are not split or checked
// against frame_max: RabbitMQ applies frame_max to body frames only.
func (w *FrameWriter) WriteMethod(ch uint16, m Method) error {
	if w.err != nil {
		return w.err
	}
	start := w.startFrame(FrameMethod, ch)
	b, err := m.Append(w.buf)
	if err != nil {
		w.buf = w.buf[:start]
		return err
	}
	w.buf = b
	return w.endFrame(start)
}

// WriteContent appends m's method frame, a content header (classID, the
// body size and rawProps, the property flags and list as on the wire; empty
// means no properties) and body frames of at most frameMax octets each
// (frameMax 0 means no limit; no body frame for an empty body). m must be a
// content-carrying method and frameMax, if set, must leave room for a byte of
// payload; if not, or m cannot be encoded, nothing is appended.
func (w *FrameWriter) WriteContent(ch uint16, m Method, classID uint16, rawProps []byte, body []byte, frameMax uint32) error {
	if !m.HasContent() {
		return fmt.Errorf("wire: %s carries no content", m.Name())
	}
	if frameMax != 0 && frameMax <= frameOverhead {
		return fmt.Errorf("wire: frame_max %d leaves no room for a body", frameMax)
	}
	if err := w.WriteMethod(ch, m); err != nil {
		return err
	}
	start := w.startFrame(FrameHeader, ch)
	w.buf = amqp.AppendHeader(w.buf, classID, uint64(len(body)), rawProps)
	if err := w.endFrame(start); err != nil {
		return err
	}
	return w.writeBody(ch, body, frameMax)
}

// writeBody appends body as frames of at most frameMax octets.
func (w *FrameWriter) writeBody(ch uint16, body []byte, frameMax uint32) error {
	chunk := len(body)
	if frameMax != 0 {
		chunk = int(frameMax) - frameOverhead
	}
	for len(body) > 0 {
		n := min(chunk, len(body))
		start := w.startFrame(FrameBody, ch)
		w.buf = append(w.buf, body[:n]...)
		if err := w.endFrame(start); err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}

// startFrame appends a frame header with a zero size and returns its offset.
func (w *FrameWriter) startFrame(typ uint8, ch uint16) int {
	start := len(w.buf)
	w.buf = append(w.buf, typ, byte(ch>>8), byte(ch), 0, 0, 0, 0)
	return start
}

// endFrame patches the payload size of the frame at start, appends the
// frame-end octet and flushes if the buffer passed flushThreshold.
func (w *FrameWriter) endFrame(start int) error {
	size := len(w.buf) - start - FrameHeaderSize
	if uint64(size) > math.MaxUint32 {
		w.buf = w.buf[:start]
		return fmt.Errorf("wire: frame payload of %d bytes exceeds 2^32-1", size)
	}
	binary.BigEndian.PutUint32(w.buf[start+3:], uint32(size))
	w.buf = append(w.buf, FrameEnd)
	if len(w.buf) > flushThreshold {
		return w.Flush()
	}
	return nil
}
