package wire

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// publishPayload is a typical basic.publish method frame payload.
var publishPayload = func() []byte {
	b, _ := (&BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu.created", Mandatory: true}).Append(nil)
	return b
}()

func BenchmarkDecodeBasicPublish(b *testing.B) {
	b.Run("DecodeMethod", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeMethod(publishPayload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode=reused", func(b *testing.B) {
		b.ReportAllocs()
		var m BasicPublish
		for b.Loop() {
			if err := m.Decode(publishPayload[4:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkWriteContent(b *testing.B) {
	m := &BasicDeliver{ConsumerTag: "amq.ctag-1", Exchange: "amq.topic", RoutingKey: "orders.eu.created"}
	props := []byte{0x90, 0x00, 0x10, 'a', 'p', 'p', 'l', 'i', 'c', 'a', 't', 'i', 'o', 'n', '/', 'j', 's', 'o', 'n', 0x02}
	for _, size := range []int{0, 1024, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			body := bytes.Repeat([]byte{'x'}, size)
			w := NewFrameWriter(io.Discard)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				m.DeliveryTag++
				if err := w.WriteContent(1, m, ClassBasic, props, body, DefaultMaxFrameSize); err != nil {
					b.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cycleReader repeats b forever.
type cycleReader struct {
	b   []byte
	off int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, c.b[c.off:])
	c.off = (c.off + n) % len(c.b)
	return n, nil
}

func BenchmarkReadFrame(b *testing.B) {
	one := publishFrame + headerFrame + bodyFrame
	r := NewFrameReader(&cycleReader{b: []byte(one)})
	b.SetBytes(int64(len(one)) / 3)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}
