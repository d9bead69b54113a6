package conn

import (
	"net"
	"testing"

	"github.com/warrenmq/warren/api/reply"
)

// A connection that has started closing is no longer described: the
// management API must neither list it nor close it a second time (a
// second DELETE is 404, as on RabbitMQ).
func TestInfoEndsWhenClosing(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	go func() { _, _ = client.Read(make([]byte, 4096)) }() // takes the connection.close frame
	c := New(&Config{}, server, "c1")
	c.who.Store(&Identity{Instance: "i1"})
	if _, ok := c.Info(); !ok {
		t.Fatal("an open connection is not described")
	}
	c.Close(reply.ConnectionForced, "closed via management plugin")
	if in, ok := c.Info(); ok {
		t.Fatalf("a closing connection is still described: %+v", in)
	}
}
