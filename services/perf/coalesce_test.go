package perf

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// countingConn records what reaches the socket and in how many writes.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	data   bytes.Buffer
	fail   error
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes++
	return c.data.Write(p)
}

func (c *countingConn) Close() error { return nil }

func TestCoalescingConnKeepsOrderInFewerWrites(t *testing.T) {
	under := &countingConn{}
	cc := newCoalescingConn(under)
	var want bytes.Buffer
	for i := 0; i < 10000; i++ {
		p := []byte{byte(i), byte(i >> 8), 0xCE}
		want.Write(p)
		if _, err := cc.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	under.mu.Lock()
	defer under.mu.Unlock()
	if !bytes.Equal(under.data.Bytes(), want.Bytes()) {
		t.Fatal("bytes reordered or lost")
	}
	if under.writes >= 10000 {
		t.Fatalf("%d socket writes for 10000 small writes: nothing coalesced", under.writes)
	}
}

func TestCoalescingConnReportsWriteErrors(t *testing.T) {
	boom := errors.New("broken pipe")
	under := &countingConn{fail: boom}
	cc := newCoalescingConn(under)
	_, _ = cc.Write([]byte("x"))
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = cc.Write([]byte("y"))
		if err == nil {
			<-chanAfterFlush(cc)
		}
	}
	if !errors.Is(err, boom) {
		t.Fatalf("write after a failed flush returned %v, want %v", err, boom)
	}
}

// chanAfterFlush waits until the flusher has taken the buffer.
func chanAfterFlush(c *coalescingConn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		c.mu.Lock()
		for len(c.buf) > 0 && c.err == nil {
			c.cond.Wait()
		}
		c.mu.Unlock()
		close(done)
	}()
	return done
}

func TestCoalescingConnWriteAfterClose(t *testing.T) {
	cc := newCoalescingConn(&countingConn{})
	_ = cc.Close()
	if _, err := cc.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	var _ io.Writer = cc
}
