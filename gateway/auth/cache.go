package auth

import (
	"crypto/subtle"
	"encoding/binary"
	"hash/maphash"
	"sync"
)

// DefaultCacheSize bounds the verified credentials a gateway remembers;
// past it, an arbitrary entry makes room (a miss costs one hash).
const DefaultCacheSize = 100_000

// credCache remembers logins that verified, so a client that reconnects
// often (1,000 new connections a second is ordinary for short-lived
// workers) does not pay a hash per connection, whatever hashing the
// user's record uses.
//
// An entry is keyed by the user's stored hash: a changed password stores
// a new salted hash, so the entry no longer applies from that moment,
// and a deleted user fails before the cache is asked. The password is
// kept only as a 64-bit keyed digest with a per-process seed, which tells
// a heap reader no more than the salted hash in KV already does; an
// online guess matches it with probability 2^-64.
type credCache struct {
	seed maphash.Seed
	max  int
	mu   sync.Mutex
	m    map[Login]credEntry
}

type credEntry struct {
	stored string // the user's password hash when the login verified
	digest uint64 // maphash of the password
}

func newCredCache(max int) *credCache {
	return &credCache{seed: maphash.MakeSeed(), max: max, m: map[Login]credEntry{}}
}

func (c *credCache) digest(password string) uint64 {
	return maphash.String(c.seed, password)
}

// holds reports whether password verified against this very stored hash.
func (c *credCache) holds(l Login, stored, password string) bool {
	d := c.digest(password)
	c.mu.Lock()
	e, ok := c.m[l]
	c.mu.Unlock()
	if !ok || e.stored != stored {
		return false
	}
	var a, b [8]byte
	binary.LittleEndian.PutUint64(a[:], e.digest)
	binary.LittleEndian.PutUint64(b[:], d)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// put remembers a verified login, making room when full.
func (c *credCache) put(l Login, stored, password string) {
	d := c.digest(password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[l]; !ok && len(c.m) >= c.max {
		for k := range c.m { // map order is arbitrary enough to spread evictions
			delete(c.m, k)
			break
		}
	}
	c.m[l] = credEntry{stored: stored, digest: d}
}
