package storagegrpc

import (
	"sync"

	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"

	"github.com/warrenmq/warren/api/bufpool"
)

// sharedPool is the buffer pool for gRPC's encoding and framing. gRPC's
// default pool jumps from 32 KiB to 1 MiB buffers and zeroes each one it
// hands out, so every append or delivery batch of 32 KiB–1 MiB cleared a
// whole MiB: a tenth of a gateway's CPU. A bufpool.Pool has a tier per
// power of two and hands buffers out unzeroed; gRPC writes every byte of a
// buffer it gets (marshalling or reading into it) before it reads any.
var sharedPool mem.BufferPool = &bufpool.Pool{}

var setDefaultPool sync.Once

// useBufferPool makes the pool gRPC's default (the codec takes its
// buffers from the default, not from a connection's option); the option
// it returns covers the transport's reads.
func useBufferPool() {
	setDefaultPool.Do(func() { experimental.SetDefaultBufferPool(sharedPool) })
}
