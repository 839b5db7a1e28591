package gatehouse

import (
	"context"
	"time"
)

// Throttle is the record of attempts under one key (a username, a client
// address). Its methods are the throttling rule, written once: the store
// applies them inside a transaction so that every instance sharing the
// store counts on the same record, and in-memory throttles use them as is.
type Throttle struct {
	Count     int       // attempts in the current window
	Streak    int       // attempts since the record began, over every window
	WindowEnd time.Time // the current window, or the lock, ends here
	ForgetAt  time.Time // from here on the record counts as never made
}

// ThrottleRule allows Limit attempts per window. The attempt that reaches
// the limit locks the key for a whole window from that moment, so attempts
// cannot be bunched around a window's end. Each window is twice as long
// as the one before for every Limit attempts in the streak before it
// (progressive delay, as OWASP advises against online guessing), up to
// MaxWindow. A record is forgotten MaxWindow after its window ends: a key
// left alone that long starts afresh.
type ThrottleRule struct {
	Limit     int           // attempts per window; 0 or less turns the rule off
	Window    time.Duration // the first window
	MaxWindow time.Duration // the longest window; not above Window: no growth
}

// Enabled reports whether the rule limits anything.
func (r ThrottleRule) Enabled() bool { return r.Limit > 0 && r.Window > 0 }

func (r ThrottleRule) longest() time.Duration { return max(r.MaxWindow, r.Window) }

// window is the length of a window that begins after streak attempts.
func (r ThrottleRule) window(streak int) time.Duration {
	d, longest := r.Window, r.longest()
	for n := streak / r.Limit; n > 0 && d < longest; n-- {
		d *= 2
	}
	return min(d, longest)
}

func (t Throttle) forgotten(now time.Time) bool { return !now.Before(t.ForgetAt) }

// Blocked reports whether an attempt at now must be refused and, if so,
// how long until one is allowed again.
func (t Throttle) Blocked(now time.Time, r ThrottleRule) (retry time.Duration, blocked bool) {
	if !r.Enabled() || t.forgotten(now) || !now.Before(t.WindowEnd) || t.Count < r.Limit {
		return 0, false
	}
	return t.WindowEnd.Sub(now), true
}

// Take records an attempt at now and returns the record after it, or
// returns t unchanged and false when the key is blocked.
func (t Throttle) Take(now time.Time, r ThrottleRule) (Throttle, bool) {
	if !r.Enabled() {
		return t, true
	}
	if _, blocked := t.Blocked(now, r); blocked {
		return t, false
	}
	if t.forgotten(now) {
		t = Throttle{}
	}
	if !now.Before(t.WindowEnd) {
		t.WindowEnd, t.Count = now.Add(r.window(t.Streak)), 0
	}
	t.Count++
	t.Streak++
	if t.Count >= r.Limit {
		// Locked for the whole of this window's length from now.
		t.WindowEnd = now.Add(r.window(t.Streak - t.Count))
	}
	t.ForgetAt = t.WindowEnd.Add(r.longest())
	return t, true
}

// ThrottleStore keeps throttle records shared by every instance, so that
// a limit per username holds however many instances serve the logins.
// Keys are at most 128 bytes of valid UTF-8.
type ThrottleStore interface {
	// Throttle returns the record under key; the zero Throttle when there
	// is none. It takes no lock: a cheap first look before TakeThrottle.
	Throttle(ctx context.Context, key string) (Throttle, error)
	// TakeThrottle applies Throttle.Take at now to the record under key,
	// atomically, and returns its result: of any number of concurrent
	// calls on one key, no more than the rule allows succeed.
	TakeThrottle(ctx context.Context, key string, now time.Time, r ThrottleRule) (Throttle, bool, error)
	// ResetThrottle removes the record under key (after a success).
	ResetThrottle(ctx context.Context, key string) error
	// DeleteExpiredThrottles removes the records forgotten by now and
	// returns how many went.
	DeleteExpiredThrottles(ctx context.Context, now time.Time) (int64, error)
}
