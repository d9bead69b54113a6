package amqp

import "testing"

func BenchmarkDecodeProperties(b *testing.B) {
	raw := []byte(contentHeader[12:])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeProperties(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTable(b *testing.B) {
	t := Table{"x-max-length": int64(1000), "x-queue-type": "quorum", "x-dead-letter-exchange": "dlx"}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendTable(buf[:0], t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadTable(b *testing.B) {
	raw := []byte(everyTypeBytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ReadTable(raw); err != nil {
			b.Fatal(err)
		}
	}
}
