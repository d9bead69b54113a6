package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	heartbeatFrame = "\x08\x00\x00\x00\x00\x00\x00\xce"
	publishFrame   = "\x01\x00\x01\x00\x00\x00\x0d" + "\x00\x3c\x00\x28\x00\x00\x02ex\x02rk\x00" + "\xce"
	headerFrame    = "\x02\x00\x01\x00\x00\x00\x0e" + "\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00" + "\xce"
	bodyFrame      = "\x03\x00\x01\x00\x00\x00\x05" + "hello" + "\xce"
)

func TestReadFrameSequence(t *testing.T) {
	r := NewFrameReader(strings.NewReader(heartbeatFrame + publishFrame + headerFrame + bodyFrame))
	want := []Frame{
		{Type: FrameHeartbeat, Channel: 0, Payload: []byte{}},
		{Type: FrameMethod, Channel: 1, Payload: []byte(publishFrame[7:20])},
		{Type: FrameHeader, Channel: 1, Payload: []byte(headerFrame[7:21])},
		{Type: FrameBody, Channel: 1, Payload: []byte("hello")},
	}
	for i, w := range want {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Type != w.Type || f.Channel != w.Channel || !bytes.Equal(f.Payload, w.Payload) {
			t.Errorf("frame %d: got %+v, want %+v", i, f, w)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Errorf("at end: err = %v, want io.EOF", err)
	}
}

func TestReadFrameOneByteAtATime(t *testing.T) {
	in := publishFrame + bodyFrame
	r := NewFrameReader(iotest.OneByteReader(strings.NewReader(in)))
	for _, want := range []string{publishFrame, bodyFrame} {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if string(f.Payload) != want[7:len(want)-1] {
			t.Errorf("payload %q, want %q", f.Payload, want[7:len(want)-1])
		}
	}
}

func TestReadFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		wantCode uint16 // 0: want wantErr
		wantErr  error
	}{
		{"empty stream", "", 0, io.EOF},
		{"partial header", "\x01\x00\x01\x00", 0, io.ErrUnexpectedEOF},
		{"partial payload", publishFrame[:10], 0, io.ErrUnexpectedEOF},
		{"missing frame end", publishFrame[:len(publishFrame)-1], 0, io.ErrUnexpectedEOF},
		{"bad frame end", publishFrame[:len(publishFrame)-1] + "\x00", FrameErrorCode, nil},
		{"frame end is last payload byte", "\x03\x00\x01\x00\x00\x00\x02\xce", 0, io.ErrUnexpectedEOF},
		{"unknown type 4", "\x04\x00\x00\x00\x00\x00\x00\xce", FrameErrorCode, nil},
		{"type 0", "\x00\x00\x00\x00\x00\x00\x00\xce", FrameErrorCode, nil},
		{"AMQP header mid-stream", ProtocolHeader, FrameErrorCode, nil},
		{"claims 4 GiB", "\x03\x00\x01\xff\xff\xff\xff", FrameErrorCode, nil},
		{"one over the default max", "\x03\x00\x01\x00\x02\x00\x01", FrameErrorCode, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFrameReader(strings.NewReader(tc.in)).ReadFrame()
			if tc.wantCode == 0 {
				if err != tc.wantErr {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Code != tc.wantCode {
				t.Fatalf("err = %v, want a *FrameError with code %d", err, tc.wantCode)
			}
			if !strings.HasPrefix(fe.Error(), "FRAME_ERROR - ") {
				t.Errorf("Error() = %q, want the FRAME_ERROR - prefix", fe.Error())
			}
		})
	}
}

func TestReadFramePassesIOErrorsThrough(t *testing.T) {
	boom := errors.New("boom")
	for _, in := range []string{"", "\x01\x00", publishFrame[:9]} {
		r := NewFrameReader(io.MultiReader(strings.NewReader(in), iotest.ErrReader(boom)))
		if _, err := r.ReadFrame(); err != boom {
			t.Errorf("after %d bytes: err = %v, want boom itself", len(in), err)
		}
	}
}

// frameOf returns a frame of the given type with size payload bytes.
func frameOf(typ byte, size int) []byte {
	b := []byte{typ, 0, 1, byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}
	b = append(b, bytes.Repeat([]byte{'p'}, size)...)
	return append(b, FrameEnd)
}

func TestReadFrameSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setMax   uint32 // 0: leave the default
		size     int
		tooLarge bool
	}{
		{"default max", 0, DefaultMaxFrameSize, false},
		{"default max + 1", 0, DefaultMaxFrameSize + 1, true},
		{"negotiated 8192 with fudge", 8192, 8192, false},
		{"negotiated 8192 + 1", 8192, 8193, true},
		{"below frame-min-size raised", 100, FrameMinSize, false},
		{"below frame-min-size + 1", 100, FrameMinSize + 1, true},
		{"bigger than the read buffer", 1 << 20, 300000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewFrameReader(bytes.NewReader(frameOf(FrameBody, tc.size)))
			if tc.setMax != 0 {
				r.SetMaxFrameSize(tc.setMax)
			}
			f, err := r.ReadFrame()
			var fe *FrameError
			if tc.tooLarge != errors.As(err, &fe) {
				t.Fatalf("err = %v, tooLarge = %v", err, tc.tooLarge)
			}
			if !tc.tooLarge && len(f.Payload) != tc.size {
				t.Errorf("payload %d bytes, want %d", len(f.Payload), tc.size)
			}
		})
	}
}

func TestSetMaxFrameSizeZeroRestoresDefault(t *testing.T) {
	r := NewFrameReader(bytes.NewReader(frameOf(FrameBody, DefaultMaxFrameSize+1)))
	r.SetMaxFrameSize(8192)
	r.SetMaxFrameSize(0)
	var fe *FrameError
	if _, err := r.ReadFrame(); !errors.As(err, &fe) {
		t.Errorf("err = %v, want a FrameError at the default limit", err)
	}
}

func TestReadLargeFramesInSequence(t *testing.T) {
	var in []byte
	sizes := []int{100000, 10, readBufferSize - 1, readBufferSize, 120000}
	for _, n := range sizes {
		in = append(in, frameOf(FrameBody, n)...)
	}
	r := NewFrameReader(bytes.NewReader(in))
	for _, n := range sizes {
		f, err := r.ReadFrame()
		if err != nil || len(f.Payload) != n || bytes.Count(f.Payload, []byte{'p'}) != n {
			t.Fatalf("size %d: got %d bytes, %v", n, len(f.Payload), err)
		}
	}
}

// TestReadFrameHostileAllocation checks that a header's claimed size never
// makes ReadFrame allocate more than the max frame size.
func TestReadFrameHostileAllocation(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit uint64
	}{
		{"\x03\x00\x01\xff\xff\xff\xff", 1024},                                 // over the limit: rejected unread
		{"\x03\x00\x01\x00\x02\x00\x00" + "short", DefaultMaxFrameSize + 1024}, // at the limit, then EOF
	} {
		const runs = 10
		readers := make([]*FrameReader, runs)
		for i := range readers {
			readers[i] = NewFrameReader(strings.NewReader(tc.in))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, r := range readers {
			if _, err := r.ReadFrame(); err == nil {
				t.Fatal("no error")
			}
		}
		runtime.ReadMemStats(&after)
		if got := (after.TotalAlloc - before.TotalAlloc) / runs; got > tc.limit {
			t.Errorf("%q: ReadFrame allocated %d bytes, want <= %d", tc.in[:7], got, tc.limit)
		}
	}
}

func TestReadProtocolHeader(t *testing.T) {
	r := NewFrameReader(strings.NewReader(ProtocolHeader + heartbeatFrame))
	h, err := r.ReadProtocolHeader()
	if err != nil || string(h[:]) != ProtocolHeader {
		t.Fatalf("got %q, %v", h, err)
	}
	f, err := r.ReadFrame()
	if err != nil || !reflect.DeepEqual(f, Frame{Type: FrameHeartbeat, Payload: []byte{}}) {
		t.Errorf("after the header: %+v, %v", f, err)
	}
	if _, err := NewFrameReader(strings.NewReader("AMQP")).ReadProtocolHeader(); err != io.ErrUnexpectedEOF {
		t.Errorf("short header: err = %v", err)
	}
}
