package auth

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Pool bounds how many password hashes run at once. Hashing is the one
// deliberately slow thing gatehouse does; unbounded, a flood of logins
// would take every core and starve authenticated requests. A request that
// cannot get a slot within the wait is shed with EUNAVAILABLE.
type Pool struct {
	slots   chan struct{}
	wait    time.Duration
	waiting atomic.Int64 // callers queued for a slot, for the queue-depth gauge
}

// NewPool returns a pool of size concurrent hashes whose callers queue for
// at most wait.
func NewPool(size int, wait time.Duration) *Pool {
	if size < 1 {
		size = 1
	}
	return &Pool{slots: make(chan struct{}, size), wait: wait}
}

// ErrBusy is returned when the pool sheds a request.
var ErrBusy = gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the server is busy, try again shortly")

// Do runs fn on a slot, or returns ErrBusy if none frees within the wait.
func (p *Pool) Do(ctx context.Context, fn func()) error {
	select {
	case p.slots <- struct{}{}:
	default:
		if !p.queue(ctx) {
			return ErrBusy
		}
	}
	defer func() { <-p.slots }()
	fn()
	return nil
}

// queue waits for a slot for at most the pool's wait, counted as waiting.
func (p *Pool) queue(ctx context.Context) bool {
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// InUse returns how many hashes are running now.
func (p *Pool) InUse() int { return len(p.slots) }

// Waiting returns how many callers are queued for a slot now.
func (p *Pool) Waiting() int { return int(p.waiting.Load()) }

// Size returns how many hashes may run at once.
func (p *Pool) Size() int { return cap(p.slots) }

func defaultPoolSize() int { return runtime.GOMAXPROCS(0) }
