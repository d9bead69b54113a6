package storagegrpc

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// bufferPool is the buffer pool for gRPC's encoding and framing. gRPC's
// default pool jumps from 32 KiB to 1 MiB buffers and zeroes each one it
// hands out, so every append or delivery batch of 32 KiB–1 MiB cleared a
// whole MiB: a tenth of a gateway's CPU. This pool has a tier per power of
// two and hands buffers out unzeroed; gRPC writes every byte of a buffer it
// gets (marshalling or reading into it) before it reads any.
type bufferPool struct {
	tiers [maxTierExp + 1]sync.Pool
}

// Buffers above 2^maxTierExp bytes are not pooled.
const maxTierExp = 24

var _ mem.BufferPool = (*bufferPool)(nil)

// tierOf is the exponent of the smallest power of two ≥ size.
func tierOf(size int) int {
	if size <= 1 {
		return 0
	}
	return bits.Len(uint(size - 1))
}

func (p *bufferPool) Get(size int) *[]byte {
	exp := tierOf(size)
	if exp > maxTierExp {
		b := make([]byte, size)
		return &b
	}
	if b, ok := p.tiers[exp].Get().(*[]byte); ok {
		*b = (*b)[:size]
		return b
	}
	b := make([]byte, size, 1<<exp)
	return &b
}

func (p *bufferPool) Put(b *[]byte) {
	c := cap(*b)
	exp := tierOf(c)
	if exp > maxTierExp || 1<<exp != c {
		return // not one of ours: let the GC have it
	}
	p.tiers[exp].Put(b)
}

var (
	sharedPool     = &bufferPool{}
	setDefaultPool sync.Once
)

// useBufferPool makes the pool gRPC's default (the codec takes its
// buffers from the default, not from a connection's option); the option
// it returns covers the transport's reads.
func useBufferPool() {
	setDefaultPool.Do(func() { experimental.SetDefaultBufferPool(sharedPool) })
}
