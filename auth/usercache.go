package auth

import (
	"sync"

	"github.com/gatehouse/gatehouse"
)

// userCache keeps the fields of users that never change (id, username,
// creation time) so that the authenticated path need not ask the store for
// them. It is safe without invalidation: a deleted user's sessions are
// revoked, so their tokens fail before the cache is consulted, and ids are
// never reused. The password hash is never cached.
type userCache struct {
	mu    sync.RWMutex
	users map[string]gatehouse.User
	max   int
}

func newUserCache(max int) *userCache {
	return &userCache{users: make(map[string]gatehouse.User), max: max}
}

func (c *userCache) get(id string) (gatehouse.User, bool) {
	c.mu.RLock()
	u, ok := c.users[id]
	c.mu.RUnlock()
	return u, ok
}

func (c *userCache) put(u *gatehouse.User) {
	c.mu.Lock()
	if len(c.users) >= c.max {
		// Drop an arbitrary tenth: map iteration order is random, and a
		// miss costs one query.
		n := c.max / 10
		for id := range c.users {
			if n--; n < 0 {
				break
			}
			delete(c.users, id)
		}
	}
	c.users[u.ID] = gatehouse.User{ID: u.ID, Username: u.Username, CreatedAt: u.CreatedAt}
	c.mu.Unlock()
}

func (c *userCache) remove(id string) {
	c.mu.Lock()
	delete(c.users, id)
	c.mu.Unlock()
}
