// Package bufpool is a pool of byte buffers with a tier per power of two,
// handed out unzeroed: for buffers that are written in full before they
// are read, and whose owner knows when the last reader is done.
package bufpool

import (
	"math/bits"
	"sync"
)

// Pool hands out buffers whose capacity is the power of two at or above
// the size asked for. The zero Pool is ready to use. It satisfies gRPC's
// mem.BufferPool.
type Pool struct {
	tiers [maxTierExp + 1]sync.Pool
}

// Buffers above 2^maxTierExp bytes are not pooled.
const maxTierExp = 24

// tierOf is the exponent of the smallest power of two ≥ size.
func tierOf(size int) int {
	if size <= 1 {
		return 0
	}
	return bits.Len(uint(size - 1))
}

// Get returns a buffer of length size. Its bytes are whatever its last
// user left.
func (p *Pool) Get(size int) *[]byte {
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

// Put gives back a buffer nothing reads any more. Buffers that did not
// come from a Pool are left to the GC.
func (p *Pool) Put(b *[]byte) {
	c := cap(*b)
	exp := tierOf(c)
	if exp > maxTierExp || 1<<exp != c {
		return
	}
	p.tiers[exp].Put(b)
}
