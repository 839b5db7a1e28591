package auth

import (
	"context"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Pool bounds how many password hashes run at once and how many wait.
// Hashing is the one deliberately slow thing gatehouse does; unbounded, a
// flood of logins would take every core and starve authenticated
// requests. A request that finds the queue full, or waits longer than the
// wait for a slot, is shed with EUNAVAILABLE and a Retry-After, so a flood
// costs the server no more than its queue. Hashes run at a low thread
// priority (SetNice) so that the requests that never hash come first.
type Pool struct {
	slots    chan struct{}
	maxQueue int64
	wait     time.Duration
	nice     int
	queued   atomic.Int64
	done     atomic.Uint64
	shed     atomic.Uint64
}

// NewPool returns a pool of size concurrent hashes (at least 1) with room
// for queue callers waiting at most wait each.
func NewPool(size, queue int, wait time.Duration) *Pool {
	return &Pool{slots: make(chan struct{}, max(size, 1)), maxQueue: int64(max(queue, 0)), wait: wait}
}

// DefaultNice is the nice value the server runs hashes at unless told
// otherwise (HASH_NICE): the lowest priority, so that when a hash and an
// authenticated request want the same core, the operating system gives it
// to the request. A pool from NewPool, or auth.New's own, runs hashes at
// the process's priority until SetNice.
const DefaultNice = 19

// SetNice sets the nice value (0 to 19) of the threads that run hashes,
// before the pool is used. 0 runs them like everything else. It has
// effect on Linux only, where the nice value is a thread's own.
func (p *Pool) SetNice(n int) { p.nice = min(max(n, 0), 19) }

// procs is GOMAXPROCS as the process started, before ReserveProc.
var procs = runtime.GOMAXPROCS(0)

// DefaultPoolSize is a slot per core (GOMAXPROCS at start), so that
// logins alone can use the whole machine. ReserveProc keeps a processor
// for everything else while every slot hashes.
func DefaultPoolSize() int { return procs }

// ReserveProc makes sure that a pool of size slots, all hashing, leaves
// a Go processor (a P) for everything else: it raises GOMAXPROCS to
// min(size, cores)+1 if it is lower, and never above cores+1. Without
// it, a slot per core would hold every P during a login flood and an
// authenticated request would wait for the scheduler to preempt a hash
// (10 ms and more). The spare P has no core of its own: its thread
// competes with the hashing threads for the cores, and wins, since hashes
// run at a lower priority (SetNice). So logins get every core when
// nothing else wants one, and give it up at once when something does.
// Call it once at start; it changes the whole process.
func ReserveProc(size int) {
	if want := min(size, procs) + 1; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
}

// DefaultQueue is how many callers may wait per slot by default: at the
// default cost (bcrypt 12, about 250 ms a hash) a full queue drains in
// about DefaultQueueWait.
const DefaultQueue = 8

// DefaultQueueWait is how long a caller waits for a slot by default.
const DefaultQueueWait = 2 * time.Second

// ErrBusy is the error (in the chain) of a request the pool sheds.
var ErrBusy = gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the server is busy, try again shortly")

// busyError is ErrBusy with the Retry-After the web layer sends.
type busyError struct{ after time.Duration }

func (e *busyError) Error() string          { return ErrBusy.Error() }
func (e *busyError) Unwrap() error          { return ErrBusy }
func (e *busyError) RetryAfterSeconds() int { return ceilSeconds(e.after) }

// ceilSeconds is d in whole seconds, rounded up, at least 1.
func ceilSeconds(d time.Duration) int {
	return int(max(1, math.Ceil(d.Seconds())))
}

// Do runs fn on a slot. When every slot is taken it waits in the queue,
// for at most the wait; a full queue, the wait running out or ctx ending
// gives ErrBusy (a *busyError) without running fn.
func (p *Pool) Do(ctx context.Context, fn func()) error {
	select {
	case p.slots <- struct{}{}:
	default:
		if err := p.enqueue(ctx); err != nil {
			p.shed.Add(1)
			return err
		}
	}
	defer func() { <-p.slots }()
	p.run(fn)
	p.done.Add(1)
	return nil
}

// run calls fn at the pool's nice value, on a goroutine of its own that
// locks its thread, lowers the thread's priority and ends without
// unlocking it, so that the runtime ends the thread too and the lowered
// priority never serves anything else. A new thread costs microseconds; a
// hash, hundreds of milliseconds. A panic in fn reaches the caller.
func (p *Pool) run(fn func()) {
	if p.nice == 0 || !canRenice {
		fn()
		return
	}
	// The caller holds its thread meanwhile, so that fn starts on another.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	res := make(chan any, 1)
	p.startLowered(fn, res)
	if v := <-res; v != nil {
		panic(v)
	}
}

// startLowered starts fn on a locked thread at the pool's nice value and
// returns once fn is about to run there; res gets fn's panic value or nil.
// The main thread is never lowered, since the runtime cannot end it: a
// goroutine that lands there holds it while it starts another, which then
// cannot land there too.
func (p *Pool) startLowered(fn func(), res chan<- any) {
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if isMainThread() {
			p.startLowered(fn, res)
			close(started)
			runtime.UnlockOSThread()
			return
		}
		setThreadNice(p.nice) // on failure the thread just runs as it was, and ends
		close(started)
		res <- recovered(fn)
	}()
	<-started
}

// recovered calls fn and returns the value it panicked with, or nil.
func recovered(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

// enqueue waits for a slot, holding a place in the queue meanwhile.
func (p *Pool) enqueue(ctx context.Context) error {
	if p.queued.Add(1) > p.maxQueue {
		p.queued.Add(-1)
		return &busyError{after: p.wait}
	}
	defer p.queued.Add(-1)
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	return &busyError{after: p.wait}
}

// InUse returns how many hashes are running now.
func (p *Pool) InUse() int { return len(p.slots) }

// Size returns how many hashes may run at once.
func (p *Pool) Size() int { return cap(p.slots) }

// Queued returns how many callers are waiting for a slot now.
func (p *Pool) Queued() int { return int(p.queued.Load()) }

// Done returns how many hashes the pool has run since it was made.
func (p *Pool) Done() uint64 { return p.done.Load() }

// Shed returns how many callers the pool has turned away since it was made.
func (p *Pool) Shed() uint64 { return p.shed.Load() }

// Waiting returns how many callers are queued for a slot now (the
// queue-depth gauge's name for Queued).
func (p *Pool) Waiting() int { return p.Queued() }
