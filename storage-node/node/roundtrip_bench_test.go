package node

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/storagegrpc"
	pb "github.com/warrenmq/warren/api/storagepb"
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
		{"grpc", grpcClientOf},
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

// grpcClientOf serves n over gRPC on a loopback port and returns a client.
func grpcClientOf(b *testing.B, n *Node) storage.Node {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(storagegrpc.ServerOptions()...)
	pb.RegisterStorageServer(srv, storagegrpc.NewServer(n))
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(srv.Stop)
	opts := append(storagegrpc.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient(ln.Addr().String(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	return storagegrpc.NewClient(cc)
}
