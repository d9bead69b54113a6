package gatewayd

import (
	"bytes"
	"testing"

	"github.com/warrenmq/warren/gateway/conn"
)

func TestReplyEncoding(t *testing.T) {
	for _, r := range []conn.Reply{
		{Instance: "acme", Address: "amq.rabbitmq.reply-to.gw-1.abc", Properties: []byte{0x80, 0, 'x'}, Body: []byte("pong")},
		{Address: "amq.rabbitmq.reply-to.gw-1.abc"},
		{Instance: string(bytes.Repeat([]byte("i"), 63)), Address: "x"},
		{Address: string(bytes.Repeat([]byte("a"), 255)), Properties: bytes.Repeat([]byte{1}, 70000), Body: make([]byte, 1<<16)},
	} {
		got, err := decodeReply(encodeReply(r))
		if err != nil {
			t.Fatal(err)
		}
		if got.Instance != r.Instance || got.Address != r.Address || !bytes.Equal(got.Properties, r.Properties) || !bytes.Equal(got.Body, r.Body) {
			t.Errorf("round trip of %q changed it", r.Address)
		}
	}
	full := encodeReply(conn.Reply{Instance: "i", Address: "a", Properties: []byte("pp"), Body: []byte("b")})
	for n := range 1 + 1 + 2 + 1 + 4 + 2 { // every cut inside the header, instance, address or properties
		if _, err := decodeReply(full[:n]); err == nil {
			t.Errorf("a reply cut to %d bytes decoded", n)
		}
	}
}

// FuzzDecodeReply: a forwarded reply from the network never panics the
// decoder, and whatever decodes encodes back to the same bytes.
func FuzzDecodeReply(f *testing.F) {
	f.Add(encodeReply(conn.Reply{Instance: "acme", Address: "amq.rabbitmq.reply-to.gw-1.abc", Properties: []byte{0x80, 0}, Body: []byte("pong")}))
	f.Add([]byte{0xff, 0xff})
	f.Add([]byte{0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReply(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeReply(r), b) {
			t.Fatalf("%x decodes to a reply that encodes differently", b)
		}
	})
}
