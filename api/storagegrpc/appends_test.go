package storagegrpc

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/warrenmq/warren/api/storage"
	pb "github.com/warrenmq/warren/api/storagepb"
)

// stuckNode accepts an Appends stream and never reads from it, like a node
// whose disk hangs while its process still answers keepalives.
type stuckNode struct {
	pb.UnimplementedStorageServer
}

func (stuckNode) Appends(stream pb.Storage_AppendsServer) error {
	<-stream.Context().Done()
	return stream.Context().Err()
}

// An append to a node that stopped reading fails once the caller's context
// ends, though flow control has the stream's Send blocked.
func TestAppendToStuckNodeEndsWithItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ServerOptions()...)
	pb.RegisterStorageServer(srv, stuckNode{})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	cc, err := grpc.NewClient(ln.Addr().String(), append(DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := NewClient(cc)

	body := make([]byte, 4<<20)
	batch := []storage.Publish{{Queues: []storage.QueueID{1}, Msg: &storage.Message{Body: body, TTL: -1}}}
	done := make(chan error, 1)
	go func() {
		// Enough to fill the stream's and the connection's windows, so
		// some Send blocks for good unless the context ends it.
		for range 16 {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			wait := client.StartAppend(ctx, batch)
			_, err := wait()
			cancel()
			if err == nil {
				done <- nil
				return
			}
		}
		done <- context.DeadlineExceeded
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("an append to a node that never reads succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("appends to a node that stopped reading hang past their contexts")
	}
}
