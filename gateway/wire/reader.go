package wire

import (
	"bufio"
	"encoding/binary"
	"io"
)

// readBufferSize is the FrameReader's bufio size. Frames whose payload and
// frame-end fit in it are returned without a copy; larger ones are copied
// into a buffer that grows up to the max frame size.
const readBufferSize = 64 << 10

// FrameReader reads frames from one connection. It is owned by a single
// goroutine (the connection's reader). After any error the stream position
// is unknown and the reader must not be used again: the caller closes the
// connection, with the reply code of a *FrameError if it is one.
type FrameReader struct {
	br         *bufio.Reader
	maxPayload uint32
	hdr        [FrameHeaderSize]byte
	big        []byte // payload storage for frames larger than br's buffer
}

// NewFrameReader returns a reader with its own 64 KiB buffer over r and the
// DefaultMaxFrameSize limit.
func NewFrameReader(r io.Reader) *FrameReader {
	fr := &FrameReader{br: bufio.NewReaderSize(r, readBufferSize)}
	fr.SetMaxFrameSize(DefaultMaxFrameSize)
	return fr
}

// SetMaxFrameSize sets the negotiated frame_max: the largest total frame,
// including the 8 octets of header and frame end. Like RabbitMQ the reader
// allows 8 octets more than that. n is raised to FrameMinSize if lower;
// 0, "no limit" in the spec, is not supported and restores the default.
func (r *FrameReader) SetMaxFrameSize(n uint32) {
	switch {
	case n == 0:
		n = DefaultMaxFrameSize
	case n < FrameMinSize:
		n = FrameMinSize
	}
	r.maxPayload = n - frameOverhead + frameSizeFudge
}

// ReadProtocolHeader reads the 8 octets a client sends before its first
// frame, through the same buffer as ReadFrame. Checking them is the caller's
// job (compare with ProtocolHeader).
func (r *FrameReader) ReadProtocolHeader() ([8]byte, error) {
	var h [8]byte
	_, err := io.ReadFull(r.br, h[:])
	return h, err
}

// ReadFrame reads the next frame. Its Payload is valid until the next call.
// A frame with an unknown type, a payload over the limit or a bad frame-end
// octet gives a *FrameError (code 501) before more than the limit is read or
// allocated. I/O errors pass through: io.EOF at a frame boundary,
// io.ErrUnexpectedEOF inside a frame.
func (r *FrameReader) ReadFrame() (Frame, error) {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Type: r.hdr[0], Channel: binary.BigEndian.Uint16(r.hdr[1:])}
	size := binary.BigEndian.Uint32(r.hdr[3:])
	if !knownFrameType(f.Type) {
		return Frame{}, frameError("unknown frame type %d on channel %d", f.Type, f.Channel)
	}
	if size > r.maxPayload {
		return Frame{}, frameError("frame payload of %d bytes exceeds the maximum of %d", size, r.maxPayload)
	}
	payload, end, err := r.readPayload(int(size))
	if err != nil {
		return Frame{}, err
	}
	if end != FrameEnd {
		return Frame{}, frameError("frame end octet %#02x, want %#02x", end, FrameEnd)
	}
	f.Payload = payload
	return f, nil
}

// readPayload reads size bytes of payload and the frame-end octet. A frame
// that fits in the bufio buffer is returned in place (no copy); a larger one
// is read into r.big, which never grows past the max payload.
func (r *FrameReader) readPayload(size int) (payload []byte, end byte, err error) {
	if size+1 <= r.br.Size() {
		p, err := r.br.Peek(size + 1)
		if err != nil {
			return nil, 0, noEOF(err)
		}
		_, _ = r.br.Discard(size + 1) // cannot fail: Peek returned the bytes
		return p[:size:size], p[size], nil
	}
	if cap(r.big) < size {
		r.big = make([]byte, size)
	}
	p := r.big[:size]
	if _, err := io.ReadFull(r.br, p); err != nil {
		return nil, 0, noEOF(err)
	}
	end, err = r.br.ReadByte()
	return p, end, noEOF(err)
}

// noEOF turns io.EOF, met after a frame header, into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Buffered is the number of bytes already read from the connection and not
// yet returned as frames: when it is zero, the next ReadFrame may block.
func (r *FrameReader) Buffered() int { return r.br.Buffered() }
