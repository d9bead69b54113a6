package node

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/storage/storagetest"
	"github.com/warrenmq/warren/api/storagegrpc"
	pb "github.com/warrenmq/warren/api/storagepb"
)

func openContractNode(t *testing.T) *Node {
	t.Helper()
	n, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// The storage contract, in-process.
func TestStorageContractInProcess(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Node { return openContractNode(t) })
}

// The same contract over gRPC on a loopback socket: the split deployment's path.
func TestStorageContractOverGRPC(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Node {
		client, _ := serveOverGRPC(t, openContractNode(t))
		return client
	})
}

// serveOverGRPC serves n on a loopback port and returns a client of it and
// the server (stopped at the end of the test, or earlier by the test).
func serveOverGRPC(tb testing.TB, n storage.Node) (*storagegrpc.Client, *grpc.Server) {
	tb.Helper()
	cc, srv := dialOverGRPC(tb, n)
	return storagegrpc.NewClient(cc), srv
}

// dialOverGRPC is serveOverGRPC with the bare connection, for requests
// the client would never send.
func dialOverGRPC(tb testing.TB, n storage.Node) (*grpc.ClientConn, *grpc.Server) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer(storagegrpc.ServerOptions()...)
	pb.RegisterStorageServer(srv, storagegrpc.NewServer(n))
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(srv.Stop)
	opts := append(storagegrpc.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient(ln.Addr().String(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cc.Close() })
	return cc, srv
}

// Malformed packed settlements end the session with InvalidArgument
// instead of being skipped or half applied.
func TestMalformedSettlementsEndTheSession(t *testing.T) {
	cc, _ := dialOverGRPC(t, openContractNode(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := pb.NewStorageClient(cc).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	truncated := []byte{2, 1, 7} // two settlements announced, one half there
	if err := stream.Send(&pb.SessionRequest{Op: &pb.SessionRequest_Settle{
		Settle: &pb.SessionRequest_SettleBatch{Ops: truncated}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("session after malformed settlements: %v, want InvalidArgument", err)
	}
}

// A session whose node goes away (its gRPC server stops, as when the storage
// node process dies) ends by itself: its consumers are cancelled with
// ErrSessionLost, Done closes, and later settles say the session is lost.
func TestSessionLostOverGRPC(t *testing.T) {
	client, srv := serveOverGRPC(t, openContractNode(t))
	ctx := context.Background()
	q := storage.QueueID(7)
	if err := client.CreateQueue(ctx, storage.QueueSpec{ID: q, VHost: "/", Name: "q",
		MessageTTL: -1, Expires: -1, MaxLength: -1, MaxLengthBytes: -1}); err != nil {
		t.Fatal(err)
	}
	sink := &lostSink{cancelled: make(chan error, 1)}
	sess, err := client.OpenSession(ctx, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Consume(storage.ConsumerSpec{Queue: q, Tag: "c", Credit: 1}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()

	select {
	case reason := <-sink.cancelled:
		if !errors.Is(reason, storage.ErrSessionLost) {
			t.Fatalf("consumer cancelled with %v, want ErrSessionLost", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("consumer not cancelled after the node went away")
	}
	select {
	case <-sess.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the node went away")
	}
	if err := sess.Settle([]storage.Settle{{Queue: q, ID: 1}}, nil); !errors.Is(err, storage.ErrSessionLost) {
		t.Fatalf("settle on a lost session: %v, want ErrSessionLost", err)
	}
	if err := sess.Consume(storage.ConsumerSpec{Queue: q, Tag: "c2", Credit: 1}); !errors.Is(err, storage.ErrSessionLost) {
		t.Fatalf("consume on a lost session: %v, want ErrSessionLost", err)
	}
}

type lostSink struct{ cancelled chan error }

func (s *lostSink) Deliver([]storage.Delivery)       {}
func (s *lostSink) Cancelled(_ string, reason error) { s.cancelled <- reason }
