package perf

import (
	"math/bits"
	"sync/atomic"
)

// seenSet remembers which (producer, sequence) pairs were consumed, to count
// duplicates and messages that were never published. It holds one bit per
// sequence in 128 KiB chunks allocated on first use, behind a fixed
// directory of seenChunks pointers per producer (8 KiB), so a run costs
// 1 bit per message plus 8 KiB per producer.
//
// Any number of consumer goroutines mark concurrently: a bit is set with an
// atomic OR and a chunk is installed with compare-and-swap, so no lock.
type seenSet struct {
	dirs []seenDir // indexed by producer id
}

const (
	seenChunkBits  = 1 << 20
	seenChunkWords = seenChunkBits / 64
	seenChunks     = 1 << 10
	// seenMaxSeq bounds the tracked sequences of one producer (2^30, more
	// than 2 hours at 100k msg/s); later sequences are not checked.
	seenMaxSeq = seenChunks * seenChunkBits
)

type (
	seenChunk [seenChunkWords]atomic.Uint64
	seenDir   [seenChunks]atomic.Pointer[seenChunk]
)

type markResult uint8

const (
	markFirst           markResult = iota // first time this pair is consumed
	markDuplicate                         // consumed before
	markUnknownProducer                   // producer id out of range: not ours
	markUntracked                         // beyond seenMaxSeq: not checked
)

func newSeenSet(producers int) *seenSet {
	return &seenSet{dirs: make([]seenDir, producers)}
}

// mark records that seq of producer p was consumed.
func (s *seenSet) mark(p int, seq uint64) markResult {
	if p < 0 || p >= len(s.dirs) {
		return markUnknownProducer
	}
	if seq >= seenMaxSeq {
		return markUntracked
	}
	c := s.chunk(&s.dirs[p], seq/seenChunkBits)
	bit := uint64(1) << (seq % 64)
	if c[seq%seenChunkBits/64].Or(bit)&bit != 0 {
		return markDuplicate
	}
	return markFirst
}

// chunk returns chunk i of d, installing it if no one has yet.
func (s *seenSet) chunk(d *seenDir, i uint64) *seenChunk {
	if c := d[i].Load(); c != nil {
		return c
	}
	fresh := new(seenChunk)
	if d[i].CompareAndSwap(nil, fresh) {
		return fresh
	}
	return d[i].Load()
}

// countFrom returns how many sequences >= from of producer p were marked.
// After a run, marks at or past the producer's published count belong to
// messages it never published. Call it once consumers have stopped.
func (s *seenSet) countFrom(p int, from uint64) uint64 {
	var n uint64
	for seq := from; seq < seenMaxSeq; {
		c := s.dirs[p][seq/seenChunkBits].Load()
		next := (seq/seenChunkBits + 1) * seenChunkBits
		if c == nil {
			seq = next
			continue
		}
		for ; seq < next; seq = (seq/64 + 1) * 64 {
			w := c[seq%seenChunkBits/64].Load() >> (seq % 64)
			n += uint64(bits.OnesCount64(w))
		}
	}
	return n
}
