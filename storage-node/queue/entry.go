package queue

import "github.com/warrenmq/warren/api/storage"

// Stored says where a message's record lives in the store.
type Stored uint8

const (
	// NotStored: only in memory, a transient message that never spilled.
	NotStored Stored = iota
	// Durable: a persistent message of a durable queue, written (and fsynced)
	// when it was appended; it survives a restart.
	Durable
	// Spill: written only to bound memory; discarded on restart.
	Spill
)

// StoredMask selects record kinds for Store.Load.
type StoredMask uint8

// Has reports whether the mask selects kind k.
func (m StoredMask) Has(k Stored) bool { return m&(1<<k) != 0 }

func maskOf(k Stored) StoredMask { return 1 << k }

func (s Stored) String() string {
	switch s {
	case Durable:
		return "durable"
	case Spill:
		return "spill"
	}
	return "mem"
}

// Entry is one message as the queue holds it.
type Entry struct {
	ID          storage.MsgID
	Msg         *storage.Message
	Expiry      int64 // unix ms at and after which it is expired; 0 = never
	Redelivered bool
	Stored      Stored
}

// Size is the body size, the measure of x-max-length-bytes.
func (e *Entry) Size() int64 { return int64(len(e.Msg.Body)) }

// entryOverhead approximates the heap bytes of an Entry and its Message
// beyond properties and body, so the cache budget also bounds tiny messages.
const entryOverhead = 160

// cost is what an entry in mem charges against the cache budget.
func (e *Entry) cost() int64 {
	return int64(len(e.Msg.Body)+len(e.Msg.Properties)+len(e.Msg.Exchange)+len(e.Msg.RoutingKey)) + entryOverhead
}

// lane returns the lane index of a message priority for a queue whose top
// lane is max: priorities above max are treated as max (RabbitMQ's rule).
func laneOf(prio, max uint8) uint8 {
	if prio > max {
		return max
	}
	return prio
}

// ring is a FIFO of entries held by value (no allocation per message).
// It shrinks only when it stayed mostly empty for a long stretch, so a
// queue whose depth swings does not copy its buffer back and forth.
type ring struct {
	buf  []Entry
	head int
	n    int
	peak int // most entries held since the last shrink check
	pops int // pops since the last shrink check
}

// ringCheckEvery pops, a ring held under an eighth of its buffer shrinks.
const ringCheckEvery = 1 << 16

func (r *ring) len() int { return r.n }

func (r *ring) push(e Entry) {
	if r.n == len(r.buf) {
		r.resize(max(16, 2*len(r.buf)))
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = e
	r.n++
	r.peak = max(r.peak, r.n)
}

func (r *ring) front() *Entry { return &r.buf[r.head] }

func (r *ring) at(i int) *Entry { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring) pop() Entry {
	e := r.buf[r.head]
	r.buf[r.head] = Entry{}
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	if r.pops++; r.pops >= ringCheckEvery {
		r.maybeShrink()
	}
	return e
}

// maybeShrink gives memory back after a burst.
func (r *ring) maybeShrink() {
	if len(r.buf) > 1024 && r.peak < len(r.buf)/8 {
		size := 1024
		for size < 2*r.peak {
			size *= 2
		}
		r.resize(size)
	}
	r.pops, r.peak = 0, r.n
}

// resize moves the entries to a buffer of size n, a power of two >= r.n.
func (r *ring) resize(n int) {
	buf := make([]Entry, n)
	for i := 0; i < r.n; i++ {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

func (r *ring) clear() { *r = ring{} }
