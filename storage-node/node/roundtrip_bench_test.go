package node

import (
	"context"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// BenchmarkAppendRoundTrip is the gateway→storage hop alone: one caller,
// one batch of 100 messages of 1 KiB at a time, in-process and over gRPC
// on loopback. ns/op is a batch's round trip; the difference between the
// two transports is what the split deployment pays per batch.
func BenchmarkAppendRoundTrip(b *testing.B) {
	for _, tr := range []struct {
		name string
		wrap func(b *testing.B, n *Node) storage.Node
	}{
		{"in-process", func(_ *testing.B, n *Node) storage.Node { return n }},
		{"grpc", func(b *testing.B, n *Node) storage.Node { c, _ := serveOverGRPC(b, n); return c }},
	} {
		for _, persistent := range []bool{false, true} {
			name := tr.name + "/transient"
			if persistent {
				name = tr.name + "/persistent-fsync"
			}
			b.Run(name, func(b *testing.B) {
				n := benchNode(b, Options{})
				mustCreateB(b, n, durable(1, "q"))
				node := tr.wrap(b, n)
				batch := batches(1, 100, 100, 1024, persistent)[0]
				b.SetBytes(100 * 1024)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := node.Append(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportRate(b, 100*b.N)
			})
		}
	}
}
