package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/amqp"
)

// countingWriter records each Write call.
type countingWriter struct {
	bytes.Buffer
	writes int
	err    error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.err != nil {
		return 0, w.err
	}
	return w.Buffer.Write(p)
}

func TestWriteMethodBytes(t *testing.T) {
	var out countingWriter
	w := NewFrameWriter(&out)
	if err := w.WriteMethod(1, &BasicPublish{Exchange: "ex", RoutingKey: "rk"}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHeartbeat(); err != nil {
		t.Fatal(err)
	}
	if out.writes != 0 || w.Buffered() != len(publishFrame)+len(heartbeatFrame) {
		t.Fatalf("before Flush: %d writes, %d buffered", out.writes, w.Buffered())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), publishFrame+heartbeatFrame; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if out.writes != 1 || w.Buffered() != 0 {
		t.Errorf("after Flush: %d writes, %d buffered", out.writes, w.Buffered())
	}
}

func TestWriteContentHandwritten(t *testing.T) {
	var out bytes.Buffer
	w := NewFrameWriter(&out)
	m := &BasicPublish{Exchange: "ex", RoutingKey: "rk"}
	if err := w.WriteContent(1, m, ClassBasic, nil, []byte("hello"), DefaultMaxFrameSize); err != nil {
		t.Fatal(err)
	}
	_ = w.Flush()
	if got, want := out.String(), publishFrame+headerFrame+bodyFrame; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestWriteContentSplitsBody(t *testing.T) {
	props, _ := (&amqp.Properties{Flags: amqp.FlagDeliveryMode, DeliveryMode: 2}).Append(nil)
	for _, tc := range []struct {
		name     string
		body     int
		frameMax uint32
		wantBody []int
	}{
		{"empty body has no body frame", 0, 4096, nil},
		{"fits one frame", 10, 18, []int{10}},
		{"split at frameMax-8", 10, 12, []int{4, 4, 2}},
		{"one byte per frame", 3, 9, []int{1, 1, 1}},
		{"no limit", 300000, 0, []int{300000}},
		{"large body", 300000, 131072, []int{131064, 131064, 37872}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewFrameWriter(&out)
			body := bytes.Repeat([]byte("abcdefg"), tc.body/7+1)[:tc.body]
			if err := w.WriteContent(3, &BasicDeliver{ConsumerTag: "c"}, ClassBasic, props, body, tc.frameMax); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			frames := readAll(t, out.Bytes())
			if len(frames) != 2+len(tc.wantBody) {
				t.Fatalf("%d frames, want %d", len(frames), 2+len(tc.wantBody))
			}
			checkHeader(t, frames[1], uint64(tc.body), props)
			var got []byte
			for i, f := range frames[2:] {
				if f.Type != FrameBody || f.Channel != 3 || len(f.Payload) != tc.wantBody[i] {
					t.Errorf("body frame %d: type %d channel %d %d bytes, want %d", i, f.Type, f.Channel, len(f.Payload), tc.wantBody[i])
				}
				if tc.frameMax != 0 && len(f.Payload)+8 > int(tc.frameMax) {
					t.Errorf("body frame %d is %d bytes in total, over frameMax %d", i, len(f.Payload)+8, tc.frameMax)
				}
				got = append(got, f.Payload...)
			}
			if !bytes.Equal(got, body) {
				t.Error("reassembled body differs")
			}
		})
	}
}

// readAll reads every frame in b, copying payloads.
func readAll(t *testing.T, b []byte) []Frame {
	t.Helper()
	r := NewFrameReader(bytes.NewReader(b))
	r.SetMaxFrameSize(1 << 20)
	var fs []Frame
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return fs
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Payload = bytes.Clone(f.Payload)
		fs = append(fs, f)
	}
}

func checkHeader(t *testing.T, f Frame, size uint64, props []byte) {
	t.Helper()
	class, gotSize, raw, err := amqp.ParseHeader(f.Payload)
	if f.Type != FrameHeader || err != nil || class != ClassBasic || gotSize != size || !bytes.Equal(raw, props) {
		t.Errorf("header frame: type %d class %d size %d props %x err %v; want size %d props %x",
			f.Type, class, gotSize, raw, err, size, props)
	}
}

func TestWriteContentRejectsWithoutWriting(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name     string
		m        Method
		frameMax uint32
	}{
		{"method without content", &BasicAck{}, 4096},
		{"frameMax leaves no room", &BasicPublish{}, 8},
		{"unencodable method", &BasicPublish{Exchange: long}, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewFrameWriter(io.Discard)
			if err := w.WriteContent(1, tc.m, ClassBasic, nil, []byte("body"), tc.frameMax); err == nil {
				t.Fatal("no error")
			}
			if w.Buffered() != 0 {
				t.Errorf("%d bytes buffered after the error", w.Buffered())
			}
		})
	}
}

func TestFrameWriterFlushesPastThreshold(t *testing.T) {
	var out countingWriter
	w := NewFrameWriter(&out)
	body := make([]byte, 1<<20)
	if err := w.WriteContent(1, &BasicPublish{}, ClassBasic, nil, body, 131072); err != nil {
		t.Fatal(err)
	}
	if out.writes < 8 {
		t.Errorf("%d writes for a 1 MiB body, want one per body frame past 64 KiB", out.writes)
	}
	if w.Buffered() > flushThreshold {
		t.Errorf("%d bytes still buffered, want <= %d", w.Buffered(), flushThreshold)
	}
	_ = w.Flush()
	want := 2 + (len(body)+131064-1)/131064 // method, header, ceil(body / (frameMax-8))
	if n := len(readAll(t, out.Bytes())); n != want {
		t.Errorf("%d frames, want %d", n, want)
	}
}

func TestFrameWriterErrorIsSticky(t *testing.T) {
	boom := errors.New("boom")
	out := &countingWriter{err: boom}
	w := NewFrameWriter(out)
	_ = w.WriteHeartbeat()
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush: %v, want boom", err)
	}
	for name, err := range map[string]error{
		"WriteMethod":    w.WriteMethod(0, &ConnectionCloseOk{}),
		"WriteHeartbeat": w.WriteHeartbeat(),
		"WriteContent":   w.WriteContent(1, &BasicPublish{}, ClassBasic, nil, nil, 0),
		"Flush":          w.Flush(),
	} {
		if !errors.Is(err, boom) {
			t.Errorf("%s after a failed write: %v, want boom", name, err)
		}
	}
	if out.writes != 1 {
		t.Errorf("%d writes, want 1", out.writes)
	}
}

func TestWriteFrameRoundTrip(t *testing.T) {
	var out bytes.Buffer
	w := NewFrameWriter(&out)
	in := []Frame{{FrameMethod, 0, []byte{0, 10, 0, 51}}, {FrameBody, 65535, []byte("x")}, {FrameHeartbeat, 0, nil}}
	for _, f := range in {
		_ = w.WriteFrame(f)
	}
	_ = w.Flush()
	got := readAll(t, out.Bytes())
	for i := range in {
		if got[i].Type != in[i].Type || got[i].Channel != in[i].Channel || !bytes.Equal(got[i].Payload, in[i].Payload) {
			t.Errorf("frame %d: got %+v, want %+v", i, got[i], in[i])
		}
	}
}

func TestFrameWriterSteadyStateDoesNotAllocate(t *testing.T) {
	w := NewFrameWriter(io.Discard)
	m := &BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 1, Exchange: "ex", RoutingKey: "rk"}
	props := []byte{0x10, 0x00, 0x02}
	body := make([]byte, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		m.DeliveryTag++
		_ = w.WriteContent(1, m, ClassBasic, props, body, 131072)
		_ = w.WriteMethod(1, &BasicAck{DeliveryTag: 1})
		_ = w.Flush()
	})
	// The only allocation allowed is the &BasicAck{} literal escaping into
	// the Method interface; the writer itself must not allocate.
	if allocs > 1 {
		t.Errorf("%.1f allocations per iteration, want <= 1", allocs)
	}
}
