package bufpool

import "testing"

func TestBufferPoolTiers(t *testing.T) {
	p := &Pool{}
	for _, size := range []int{0, 1, 255, 256, 257, 40 << 10, 1 << 20, 1<<24 + 1} {
		b := p.Get(size)
		if len(*b) != size {
			t.Fatalf("Get(%d) has length %d", size, len(*b))
		}
		if size > 1 && size <= 1<<maxTierExp && (cap(*b) < size || cap(*b) >= 2*size) {
			t.Fatalf("Get(%d) has capacity %d, want the next power of two", size, cap(*b))
		}
		p.Put(b)
	}
	b := p.Get(3000)
	(*b)[0] = 7
	p.Put(b)
	again := p.Get(2100) // same 4 KiB tier: the buffer comes back
	if cap(*again) != 4096 {
		t.Fatalf("Get(2100) capacity %d, want 4096", cap(*again))
	}
	odd := make([]byte, 10, 100)
	p.Put(&odd) // not a tier size: dropped, not handed out short
	if got := p.Get(100); cap(*got) != 128 {
		t.Fatalf("Get(100) capacity %d after a foreign Put, want 128", cap(*got))
	}
}
