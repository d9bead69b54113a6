package conn

import (
	"net"
	"sync"
	"testing"

	"github.com/warrenmq/warren/gateway/wire"
)

// Writers racing a close must get an error, never a panic from waking a
// writer goroutine whose channel is already closed.
func TestOutboxCloseRacesWriters(t *testing.T) {
	for round := 0; round < 3000; round++ {
		a, b := net.Pipe()
		go func() {
			buf := make([]byte, 4096)
			for {
				if _, err := b.Read(buf); err != nil {
					return
				}
			}
		}()
		o := newOutbox(a)
		go o.run()
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					_ = o.with(func(fw *wire.FrameWriter) error { return fw.WriteHeartbeat() })
				}
			}()
		}
		o.close()
		wg.Wait()
		_ = a.Close()
		_ = b.Close()
	}
}
