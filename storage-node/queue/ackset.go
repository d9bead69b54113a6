package queue

import (
	"sort"

	"github.com/warrenmq/warren/api/storage"
)

// unsettled is the sparse part of a lane's ack state: the IDs that have left
// the stream but are not settled yet (in flight, or requeued and waiting).
// IDs leave a lane's stream in increasing order, so add always appends; a
// settle marks its ID dead, and dead IDs are dropped from the front at once
// and compacted away when they outnumber the live ones. Its size is therefore
// bounded by the live IDs, which consumer credit bounds, however long a single
// message stays unacked.
type unsettled struct {
	ids  []storage.MsgID
	dead []bool
	head int
	live int
}

func (u *unsettled) len() int { return u.live }

// add records id, which must be greater than every ID added before.
func (u *unsettled) add(id storage.MsgID) {
	if n := len(u.ids); n > u.head && u.ids[n-1] >= id {
		panic("queue: unsettled IDs must be added in increasing order")
	}
	u.ids = append(u.ids, id)
	u.dead = append(u.dead, false)
	u.live++
}

// remove settles id; it reports false if id was not unsettled.
func (u *unsettled) remove(id storage.MsgID) bool {
	rest := u.ids[u.head:]
	i := sort.Search(len(rest), func(i int) bool { return rest[i] >= id })
	if i == len(rest) || rest[i] != id || u.dead[u.head+i] {
		return false
	}
	u.dead[u.head+i] = true
	u.live--
	for u.head < len(u.ids) && u.dead[u.head] {
		u.head++
	}
	// Compact when mostly dead, and when the settled prefix is most of the
	// slice: acks in order only move head, and append would otherwise
	// carry that prefix along for good (memory growing with every message
	// ever delivered).
	if n := len(u.ids) - u.head; n > 32 && n > 2*u.live || u.head > 32 && 2*u.head > len(u.ids) {
		u.compact()
	}
	return true
}

// min is the lowest unsettled ID; ok is false when there is none.
func (u *unsettled) min() (id storage.MsgID, ok bool) {
	if u.live == 0 {
		return 0, false
	}
	return u.ids[u.head], true
}

// compact drops dead IDs, keeping capacity proportional to the live ones.
func (u *unsettled) compact() {
	ids := make([]storage.MsgID, 0, 2*u.live+8)
	for i := u.head; i < len(u.ids); i++ {
		if !u.dead[i] {
			ids = append(ids, u.ids[i])
		}
	}
	u.ids, u.head = ids, 0
	u.dead = make([]bool, len(ids), cap(ids))
}

func (u *unsettled) clear() { *u = unsettled{} }

// entryHeap is a min-heap of requeued entries by ID, so the lowest
// (oldest) requeued message is delivered first: its original position.
type entryHeap []Entry

func (h *entryHeap) push(e Entry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p].ID <= s[i].ID {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h entryHeap) peek() *Entry { return &h[0] }

func (h *entryHeap) pop() Entry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = Entry{}
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].ID < s[m].ID {
			m = l
		}
		if r < len(s) && s[r].ID < s[m].ID {
			m = r
		}
		if m == i {
			break
		}
		s[m], s[i] = s[i], s[m]
		i = m
	}
	*h = s
	return top
}
