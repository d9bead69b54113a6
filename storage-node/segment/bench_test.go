package segment

import (
	"fmt"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

func benchRecords(n, size int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{ID: storage.MsgID(i + 1), Msg: &storage.Message{
			Exchange: "amq.direct", RoutingKey: "orders.created", Properties: []byte{0x90, 0x00, 0x02, 0x01},
			Body: make([]byte, size), Persistent: true, TTL: -1,
		}}
	}
	return recs
}

// BenchmarkBuild packs 1,000 messages per segment, reusing the buffer as
// the node will between segments.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []int{16, 1024, 16384} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			recs := benchRecords(1000, size)
			var buf []byte
			b.SetBytes(int64(len(recs) * size))
			for b.Loop() {
				w := NewWriter(buf)
				for i := range recs {
					if err := w.Add(&recs[i]); err != nil {
						b.Fatal(err)
					}
				}
				obj, err := w.Finish()
				if err != nil {
					b.Fatal(err)
				}
				buf = obj
			}
		})
	}
}

// BenchmarkDecodeRecords decodes a read-ahead of 100 records.
func BenchmarkDecodeRecords(b *testing.B) {
	for _, size := range []int{16, 1024, 16384} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			obj := mustBuild(b, benchRecords(100, size))
			tr, _ := ReadTrailer(obj)
			ix, err := ReadIndex(obj, tr)
			if err != nil {
				b.Fatal(err)
			}
			off, n := ix.Range(0, ix.Len())
			buf := obj[off : off+n]
			b.SetBytes(n)
			for b.Loop() {
				if _, err := ix.Records(buf, 0, ix.Len()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
