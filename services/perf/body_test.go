package perf

import (
	"bytes"
	"testing"
)

func TestBodyRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		sent     int64
		producer int
		seq      uint64
	}{
		{"zero", 0, 0, 0},
		{"typical", 1_700_000_000_123_456_789, 3, 61234},
		{"largest producer and sequence", 1<<63 - 1, maxProducerID, seqMask},
		{"negative time", -1, 1, 1},
		{"max clients", 42, maxClients - 1, 1 << 39},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Repeat([]byte{0xAA}, 64)
			encodeBody(b, c.sent, c.producer, c.seq)
			sent, producer, seq, ok := decodeBody(b)
			if !ok || sent != c.sent || producer != c.producer || seq != c.seq {
				t.Errorf("decode = %d %d %d %v, want %d %d %d true", sent, producer, seq, ok, c.sent, c.producer, c.seq)
			}
			if !bytes.Equal(b[bodyHeaderLen:], bytes.Repeat([]byte{0xAA}, 64-bodyHeaderLen)) {
				t.Errorf("encode wrote past the %d-byte header", bodyHeaderLen)
			}
		})
	}
}

// TestBodyLayout pins the wire layout: other tools may decode it.
func TestBodyLayout(t *testing.T) {
	b := make([]byte, bodyHeaderLen)
	encodeBody(b, 0x0102030405060708, 0x0A, 0x0B0C)
	want := []byte{
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // send time, little-endian
		0x0C, 0x0B, 0, 0, 0, 0x0A, 0, 0, // producer<<40 | seq, little-endian
	}
	if !bytes.Equal(b, want) {
		t.Errorf("body = % x, want % x", b, want)
	}
}

func TestDecodeShortBody(t *testing.T) {
	for n := range bodyHeaderLen {
		if _, _, _, ok := decodeBody(make([]byte, n)); ok {
			t.Errorf("decodeBody accepted a %d-byte body", n)
		}
	}
}

func TestEncodeDoesNotAllocate(t *testing.T) {
	b := make([]byte, 1024)
	if a := testing.AllocsPerRun(1000, func() { encodeBody(b, unixNanos(), 1, 2) }); a != 0 {
		t.Errorf("encodeBody allocates %v times", a)
	}
}

// FuzzDecodeBody: any bytes decode without panic, and a decoded header
// re-encodes to the same bytes.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 15))
	f.Add(bytes.Repeat([]byte{0xFF}, 16))
	f.Add(bytes.Repeat([]byte{0x01}, 100))
	f.Fuzz(func(t *testing.T, b []byte) {
		sent, producer, seq, ok := decodeBody(b)
		if !ok {
			return
		}
		again := make([]byte, bodyHeaderLen)
		encodeBody(again, sent, producer, seq)
		if !bytes.Equal(again, b[:bodyHeaderLen]) {
			t.Errorf("re-encoded % x, want % x", again, b[:bodyHeaderLen])
		}
	})
}

func BenchmarkEncodeBody(b *testing.B) {
	body := make([]byte, 1024)
	var seq uint64
	for b.Loop() {
		encodeBody(body, unixNanos(), 1, seq)
		seq++
	}
}
