package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Throttling holds the limits on guessing. A rule whose Limit is 0 is off.
type Throttling struct {
	// LoginUser limits login attempts per username, counted in the store
	// so that it holds across instances. A success resets it: it counts
	// consecutive failures, the quantity NIST SP 800-63B limits. Only
	// the account's password can reset it, so knowing another account's
	// password unlocks nothing.
	LoginUser gatehouse.ThrottleRule
	// LoginAddress limits failed logins per client address, counted in
	// memory by each instance (n instances allow up to n times as many).
	// A success does not reset it, so an attacker cannot clear the count
	// of an address by logging in to an account of their own.
	LoginAddress gatehouse.ThrottleRule
	// Register limits registrations per client address, in memory.
	Register gatehouse.ThrottleRule
}

// DefaultThrottling is gatehouse's default. README.md gives the reasoning.
var DefaultThrottling = Throttling{
	LoginUser:    gatehouse.ThrottleRule{Limit: 10, Window: 15 * time.Minute, MaxWindow: 24 * time.Hour},
	LoginAddress: gatehouse.ThrottleRule{Limit: 50, Window: 15 * time.Minute, MaxWindow: 15 * time.Minute},
	Register:     gatehouse.ThrottleRule{Limit: 20, Window: time.Hour, MaxWindow: time.Hour},
}

// ThrottleCounts are the requests refused by throttling since the service
// started, by rule, for the metrics.
type ThrottleCounts struct {
	LoginUser, LoginAddress, Register uint64
}

type throttleCounters struct {
	loginUser, loginAddress, register atomic.Uint64
}

// ThrottleCounts returns the requests refused by throttling so far.
func (s *Service) ThrottleCounts() ThrottleCounts {
	return ThrottleCounts{
		LoginUser:    s.refused.loginUser.Load(),
		LoginAddress: s.refused.loginAddress.Load(),
		Register:     s.refused.register.Load(),
	}
}

var errThrottled = gatehouse.Errorf(gatehouse.ETOOMANYREQUESTS, "too many attempts, try again later")

// throttledError is ETOOMANYREQUESTS with the Retry-After the web layer
// sends. The message does not say which limit was reached.
type throttledError struct{ after time.Duration }

func (e *throttledError) Error() string          { return errThrottled.Error() }
func (e *throttledError) Unwrap() error          { return errThrottled }
func (e *throttledError) RetryAfterSeconds() int { return ceilSeconds(e.after) }

// userThrottleKey is the store key of a username's login throttle: a hash
// of the username without regard to case, so that a password typed into
// the username field is not kept in plain text.
func userThrottleKey(username string) string {
	b := []byte("gatehouse/throttle/login/v1\x00" + username)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	sum := sha256.Sum256(b)
	return "login:" + hex.EncodeToString(sum[:])
}

// addressKey is the key of a client address: the address itself, or its
// /64 for IPv6, since one subscriber commonly holds a whole /64 and could
// otherwise take a fresh address for every attempt. "" when unknown.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// takeUser records a login attempt on the username's throttle, or
// refuses it when the username is locked. The first look needs no lock,
// so a flood on a locked username costs one read each.
func (s *Service) takeUser(ctx context.Context, key string, now time.Time) error {
	r := s.throttling.LoginUser
	if !r.Enabled() || key == "" {
		return nil
	}
	th, err := s.store.Throttle(ctx, key)
	if err != nil {
		return err
	}
	if retry, blocked := th.Blocked(now, r); blocked {
		s.refused.loginUser.Add(1)
		return &throttledError{after: retry}
	}
	th, ok, err := s.store.TakeThrottle(ctx, key, now, r)
	if err != nil {
		return err
	} else if !ok {
		retry, _ := th.Blocked(now, r)
		s.refused.loginUser.Add(1)
		return &throttledError{after: retry}
	}
	return nil
}

// resetUser forgets a username's failures after a success. A failure is
// logged, not returned: the login itself succeeded.
func (s *Service) resetUser(ctx context.Context, key string) {
	if !s.throttling.LoginUser.Enabled() || key == "" {
		return
	}
	if err := s.store.ResetThrottle(ctx, key); err != nil {
		s.log.Warn("login throttle reset failed", "err", err)
	}
}

// checkAddress refuses an address that is locked for logins.
func (s *Service) checkAddress(key string, now time.Time) error {
	if key == "" {
		return nil
	}
	if retry, blocked := s.addrs.blocked(key, now, s.throttling.LoginAddress); blocked {
		s.refused.loginAddress.Add(1)
		return &throttledError{after: retry}
	}
	return nil
}

// takeRegistration records a registration from an address, or refuses it.
func (s *Service) takeRegistration(key string, now time.Time) error {
	if key == "" {
		return nil
	}
	if th, ok := s.regs.take(key, now, s.throttling.Register); !ok {
		retry, _ := th.Blocked(now, s.throttling.Register)
		s.refused.register.Add(1)
		return &throttledError{after: retry}
	}
	return nil
}

// SweepThrottles drops forgotten throttle records, in memory and in the
// store, every interval until ctx ends.
func (s *Service) SweepThrottles(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		now := s.now()
		s.addrs.sweep(now)
		s.regs.sweep(now)
		if _, err := s.store.DeleteExpiredThrottles(ctx, now); err != nil && ctx.Err() == nil {
			s.log.Warn("throttle sweep failed", "err", err)
		}
	})
}

// memThrottle keeps throttle records in memory, for the limits per
// address, which need not be shared: it costs no I/O, so a flood from one
// address is turned away without touching the store.
type memThrottle struct {
	mu   sync.Mutex
	recs map[string]gatehouse.Throttle
	max  int
}

func newMemThrottle(max int) *memThrottle {
	return &memThrottle{recs: make(map[string]gatehouse.Throttle), max: max}
}

func (m *memThrottle) blocked(key string, now time.Time, r gatehouse.ThrottleRule) (time.Duration, bool) {
	if !r.Enabled() {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recs[key].Blocked(now, r)
}

func (m *memThrottle) take(key string, now time.Time, r gatehouse.ThrottleRule) (gatehouse.Throttle, bool) {
	if !r.Enabled() {
		return gatehouse.Throttle{}, true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	th, ok := m.recs[key].Take(now, r)
	if ok {
		if _, known := m.recs[key]; !known && len(m.recs) >= m.max {
			m.makeRoom(now)
		}
		m.recs[key] = th
	}
	return th, ok
}

// makeRoom drops the forgotten records and then, while the map is over
// nine tenths full, arbitrary ones (map order is random), so that a flood
// of distinct addresses cannot grow it without bound and the cost of a
// sweep is spread over a tenth of max insertions. Called with mu held.
func (m *memThrottle) makeRoom(now time.Time) {
	m.sweepLocked(now)
	for k := range m.recs {
		if len(m.recs) <= m.max*9/10 {
			break
		}
		delete(m.recs, k)
	}
}

func (m *memThrottle) sweep(now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sweepLocked(now)
}

func (m *memThrottle) sweepLocked(now time.Time) int {
	n := 0
	for k, th := range m.recs {
		if !now.Before(th.ForgetAt) {
			delete(m.recs, k)
			n++
		}
	}
	return n
}
