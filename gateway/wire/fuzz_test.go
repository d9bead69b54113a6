package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"

	"github.com/warrenmq/warren/api/amqp"
)

// FuzzReadFrame checks that FrameReader never panics, fails only with I/O
// errors or *FrameError, and that every frame it returns is written back
// identically by FrameWriter and read again unchanged.
func FuzzReadFrame(f *testing.F) {
	for _, s := range []string{heartbeatFrame, publishFrame + headerFrame + bodyFrame, rabbitConnectionStart,
		"\x03\x00\x01\xff\xff\xff\xff", publishFrame[:len(publishFrame)-1] + "\x00", ProtocolHeader} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewFrameReader(bytes.NewReader(in))
		r.SetMaxFrameSize(FrameMinSize)
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				checkReadError(t, err)
				return
			}
			checkFrameRoundTrip(t, fr)
			if fr.Type == FrameMethod {
				_, _ = DecodeMethod(fr.Payload) // must not panic
			}
		}
	})
}

func checkReadError(t *testing.T, err error) {
	var fe *FrameError
	if err != io.EOF && err != io.ErrUnexpectedEOF && !(errors.As(err, &fe) && fe.Code == FrameErrorCode) {
		t.Fatalf("unexpected error %T %v", err, err)
	}
}

func checkFrameRoundTrip(t *testing.T, fr Frame) {
	var out bytes.Buffer
	w := NewFrameWriter(&out)
	if err := w.WriteFrame(fr); err != nil {
		t.Fatal(err)
	}
	_ = w.Flush()
	again, err := NewFrameReader(&out).ReadFrame()
	if err != nil {
		t.Fatalf("re-read written frame: %v", err)
	}
	if again.Type != fr.Type || again.Channel != fr.Channel || !bytes.Equal(again.Payload, fr.Payload) {
		t.Fatalf("frame changed: %+v → %+v", fr, again)
	}
}

// FuzzDecodeMethod checks that DecodeMethod never panics, reports only
// ErrMalformed or ErrUnknownMethod, and that whatever it decodes survives
// encode → decode unchanged with a stable encoding.
func FuzzDecodeMethod(f *testing.F) {
	for _, tc := range methodCases {
		f.Add([]byte(tc.payload))
	}
	f.Add([]byte(rabbitConnectionStart[7 : len(rabbitConnectionStart)-1]))
	for _, m := range allMethods() {
		fill(m)
		b, _ := m.Append(nil)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m1, err := DecodeMethod(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownMethod) {
				t.Fatalf("error wraps neither sentinel: %v", err)
			}
			return
		}
		enc1, err := m1.Append(nil)
		if err != nil {
			t.Fatalf("re-encode %s: %v", m1.Name(), err)
		}
		m2, err := DecodeMethod(enc1)
		if err != nil {
			t.Fatalf("decode re-encoded %s: %v", m1.Name(), err)
		}
		if !sameMethod(m1, m2) {
			t.Fatalf("round trip changed %s:\n%#v\n%#v", m1.Name(), m1, m2)
		}
		if enc2, _ := m2.Append(nil); !bytes.Equal(enc1, enc2) {
			t.Fatalf("%s encoding is not stable", m1.Name())
		}
	})
}

// sameMethod compares two methods field by field, tables with sameValue.
func sameMethod(a, b Method) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	if va.Type() != vb.Type() {
		return false
	}
	for i := range va.NumField() {
		if !sameValue(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}

// sameValue is reflect.DeepEqual except that floats compare by bits, so a
// NaN in a table equals itself.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float32:
		bv, ok := b.(float32)
		return ok && math.Float32bits(a) == math.Float32bits(bv)
	case float64:
		bv, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(bv)
	case amqp.Table:
		bt, ok := b.(amqp.Table)
		if !ok || len(a) != len(bt) {
			return false
		}
		for k, v := range a {
			if w, ok := bt[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
