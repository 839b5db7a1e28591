package token

import (
	"strings"
	"sync"
	"time"
)

// cacheShards is the number of independently locked parts of the cache, so
// that concurrent verifications seldom wait for each other.
const cacheShards = 16

// cache remembers tokens that verified, keyed by the token string, so that
// verifying one again skips decoding and the signature check (an Ed25519
// verification costs some 50µs, a hit well under 1µs).
//
// Security: an entry is made only after a full verification succeeded, and
// is used only while everything that verification depended on still holds:
// the same key material (the KeySet epoch), now before exp and not before
// iat and nbf less Leeway. The rest (signature, header, iss, aud, required
// claims) depends on the token string alone. So a hit answers exactly what
// a full verification would.
type cache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[string]cacheEntry
	_  [112]byte // 128 bytes a shard: two shards never share a cache line, however aligned
}

type cacheEntry struct {
	claims    Claims
	validFrom time.Time
	expires   time.Time
	epoch     uint64
}

// newCache returns a cache of about size entries (rounded up to a multiple
// of cacheShards).
func newCache(size int) *cache {
	c := &cache{perShard: (size + cacheShards - 1) / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

// shard picks raw's shard from two characters near the end, inside the
// signature, which are random for every token that can be in the cache.
// Hashing the whole string would cost more than the map lookup it precedes.
func (c *cache) shard(raw string) *cacheShard {
	n := len(raw)
	if n < 3 {
		return &c.shards[0]
	}
	h := uint32(raw[n-2])<<8 | uint32(raw[n-3])
	return &c.shards[(h*0x9e3779b1)>>28%cacheShards]
}

// get returns a copy of the claims of raw if it verified before and would
// verify now under the KeySet epoch; nil otherwise. nil-safe.
func (c *cache) get(raw string, now time.Time, epoch uint64) *Claims {
	if c == nil {
		return nil
	}
	s := c.shard(raw)
	s.mu.Lock()
	e, ok := s.m[raw]
	if ok && (e.epoch != epoch || !now.Before(e.expires)) {
		delete(s.m, raw) // can never be valid again
		ok = false
	}
	s.mu.Unlock()
	if !ok || now.Before(e.validFrom) {
		return nil // not valid yet (clock moved back): let the full check answer
	}
	cl := e.claims // a copy: callers may change what they get
	return &cl
}

// put remembers that raw verified to claims. When the shard is full it drops
// expired entries, or else one at random, so memory stays bounded. nil-safe.
func (c *cache) put(raw string, claims *Claims, validFrom, expires time.Time, epoch uint64, now time.Time) {
	if c == nil {
		return
	}
	e := cacheEntry{claims: *claims, validFrom: validFrom, expires: expires, epoch: epoch}
	raw = strings.Clone(raw) // do not pin the buffer raw may be part of
	s := c.shard(raw)
	s.mu.Lock()
	if _, ok := s.m[raw]; !ok && len(s.m) >= c.perShard {
		s.evict(now)
	}
	s.m[raw] = e
	s.mu.Unlock()
}

// evict removes at least one entry: the expired among the first few that
// map iteration (randomised) visits, else the first visited.
func (s *cacheShard) evict(now time.Time) {
	var first string
	n, removed := 0, 0
	for k, e := range s.m {
		if n == 0 {
			first = k
		}
		if !now.Before(e.expires) {
			delete(s.m, k)
			removed++
		}
		if n++; n == 8 {
			break
		}
	}
	if removed == 0 {
		delete(s.m, first)
	}
}

// len returns the number of entries, for tests.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
