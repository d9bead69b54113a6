package perf

import (
	"encoding/binary"
	"time"
)

// Every message body starts with a 16-byte header; the rest is zero filler.
//
//	bytes 0..7   send time, unix nanoseconds, little-endian int64
//	bytes 8..15  producer id << seqBits | sequence, little-endian uint64
//
// Producer and consumers run in one process and read one clock, so
// receive time − send time is the end-to-end latency.
const (
	bodyHeaderLen = 16
	seqBits       = 40 // 1.1e12 messages per producer per run
	seqMask       = 1<<seqBits - 1
	// maxProducerID is the largest id the header can carry.
	maxProducerID = 1<<(64-seqBits) - 1
)

// encodeBody writes the header into b, which is at least bodyHeaderLen
// long; the caller reuses b for every message.
func encodeBody(b []byte, sentNanos int64, producer int, seq uint64) {
	binary.LittleEndian.PutUint64(b[0:8], uint64(sentNanos))
	binary.LittleEndian.PutUint64(b[8:16], uint64(producer)<<seqBits|seq&seqMask)
}

// decodeBody reads the header of a body; ok is false when the body is too
// short to hold one (a message this tool did not publish).
func decodeBody(b []byte) (sentNanos int64, producer int, seq uint64, ok bool) {
	if len(b) < bodyHeaderLen {
		return 0, 0, 0, false
	}
	sentNanos = int64(binary.LittleEndian.Uint64(b[0:8]))
	id := binary.LittleEndian.Uint64(b[8:16])
	return sentNanos, int(id >> seqBits), id & seqMask, true
}

// clockBase anchors unixNanos to the monotonic clock: stamps are unix
// nanoseconds, yet a wall-clock step during the run cannot bend latencies.
var (
	clockBase     = time.Now()
	clockBaseUnix = clockBase.UnixNano()
)

// unixNanos returns the current time as monotonic-derived unix nanoseconds.
func unixNanos() int64 {
	return clockBaseUnix + int64(time.Since(clockBase))
}
