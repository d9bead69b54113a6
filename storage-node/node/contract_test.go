package node

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

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
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(storagegrpc.ServerOptions()...)
		pb.RegisterStorageServer(srv, storagegrpc.NewServer(openContractNode(t)))
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(srv.Stop)
		opts := append(storagegrpc.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		cc, err := grpc.NewClient(ln.Addr().String(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cc.Close() })
		return storagegrpc.NewClient(cc)
	})
}
