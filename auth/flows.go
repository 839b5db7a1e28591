package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TokenPair is what a login or a refresh returns.
type TokenPair struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	User         *gatehouse.User // after a refresh: id, username and creation time only
	Session      *gatehouse.Session
}

// Client describes where a request came from; it is kept on the session.
type Client struct {
	UserAgent string
	IP        string
}

var errCredentials = gatehouse.Errorf(gatehouse.ECREDENTIALS, "invalid username or password")

// register creates an account (Register and RegisterFrom report it). With
// a client address it is throttled per address (Throttling.Register):
// every registration that gets as far as hashing counts, successful or not.
func (s *Service) register(ctx context.Context, username, password, addr string) (*gatehouse.User, error) {
	if err := ValidateUsername(username); err != nil {
		return nil, err
	}
	password = NormalizePassword(password)
	if err := ValidatePassword(password, username); err != nil {
		return nil, err
	}
	if err := s.takeRegistration(addr, s.now()); err != nil {
		return nil, err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &gatehouse.User{ID: gatehouse.NewID(now), Username: username, PasswordHash: h, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// throttledLogin consults the throttles before login: a locked username
// or address is refused with ETOOMANYREQUESTS before any hashing, even
// with the right password, so that a locked account cannot be probed at
// all. An unknown username is counted like a known one, so the throttle
// reveals nothing either.
func (s *Service) throttledLogin(ctx context.Context, username, password string, c Client) (*TokenPair, error) {
	now, addr, key := s.now(), addressKey(c.IP), ""
	if err := s.checkAddress(addr, now); err != nil {
		return nil, err
	}
	if s.loginName(username) {
		key = userThrottleKey(username)
		if err := s.takeUser(ctx, key, now); err != nil {
			return nil, err
		}
	}
	pair, err := s.login(ctx, username, password, c)
	switch {
	case err == nil:
		s.resetUser(ctx, key)
	case gatehouse.ErrorCode(err) == gatehouse.ECREDENTIALS && addr != "":
		s.addrs.take(addr, now, s.throttling.LoginAddress)
	}
	return pair, err
}

// login checks a username and password and opens a session (Login
// reports it). A locked account answers like a wrong password, after the
// same hash, so that neither the answer nor its timing tells it apart.
func (s *Service) login(ctx context.Context, username, password string, c Client) (*TokenPair, error) {
	if err := s.awaitDummy(ctx); err != nil {
		return nil, err
	}
	password = NormalizePassword(password)
	if !s.plausibleLogin(username, password) {
		return nil, &loginFailure{reason: ReasonUnknownUser}
	}
	u, err := s.userForLogin(ctx, username)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		// Same work as a wrong password: timing must not tell. A shed
		// hash is shed here too, or a busy server would answer 503 for
		// known users only.
		if _, _, err := s.verify(ctx, s.dummyHash, password); err != nil {
			return nil, err
		}
		return nil, &loginFailure{reason: ReasonUnknownUser}
	} else if err != nil {
		return nil, err
	}
	key, blocked, err := s.takeUsername(ctx, username, u) // email.go
	if err != nil {
		return nil, err
	}
	ok, upgrade, err := s.verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	} else if blocked {
		return nil, &loginFailure{reason: ReasonThrottled, user: u}
	} else if !ok {
		return nil, &loginFailure{reason: ReasonWrongPassword, user: u}
	} else if !u.LockedAt.IsZero() {
		return nil, &loginFailure{reason: ReasonLocked, user: u}
	}
	if upgrade {
		s.upgradeHash(ctx, u, password)
	}
	pair, err := s.afterPassword(ctx, u, c)
	if gatehouse.ErrorCode(err) == gatehouse.ECREDENTIALS {
		return nil, &loginFailure{reason: ReasonLocked, user: u} // locked while we hashed
	} else if err == nil {
		s.resetUser(ctx, key)
	}
	return pair, err
}

// upgradeHash rehashes a password whose stored hash is of an older scheme
// or cost. A failure is logged, not returned: the login itself succeeded.
func (s *Service) upgradeHash(ctx context.Context, u *gatehouse.User, password string) {
	h, err := s.hash(ctx, password)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, u.ID, h, s.now().UTC())
	}
	if err != nil {
		s.log.WarnContext(ctx, "password hash upgrade failed", "user", u.ID, "err", err)
	}
}

// openSession opens a session whose tokens carry amr (how the login
// authenticated; see secondfactor.go).
func (s *Service) openSession(ctx context.Context, u *gatehouse.User, c Client, amr ...string) (*TokenPair, error) {
	now := s.now().UTC()
	sess := &gatehouse.Session{
		ID: gatehouse.NewID(now), UserID: u.ID,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.refreshTTL),
		UserAgent: truncate(c.UserAgent, 512), IP: c.IP, AMR: amr,
	}
	refresh, err := s.store.CreateSession(ctx, sess)
	if err != nil {
		return nil, err
	}
	return s.pair(u, sess, refresh)
}

func (s *Service) pair(u *gatehouse.User, sess *gatehouse.Session, refresh string) (*TokenPair, error) {
	amr := sess.AMR
	if len(amr) == 0 {
		amr = []string{AMRPassword} // a session from before amr was kept
	}
	at, _, err := s.tokens.Issue(u.ID, sess.ID, u.Username, amr...)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, ExpiresIn: s.tokens.TTL(), RefreshToken: refresh, User: u, Session: sess}, nil
}

var errRefresh = gatehouse.Errorf(gatehouse.EINVALIDREFRESH, "refresh token is invalid, expired or revoked")

// refresh rotates a refresh token: it returns a new pair and the presented
// token stops working. Presenting a token that was already rotated revokes
// its whole session, since one of its holders is not the rightful one.
// Refresh reports it. Anything not of the token's form is refused without
// asking the store (see gatehouse.RefreshToken).
func (s *Service) refresh(ctx context.Context, refresh string, c Client) (*TokenPair, error) {
	presented, ok := gatehouse.ParseRefreshToken(refresh)
	if !ok {
		return nil, errRefresh
	}
	now := s.now().UTC()
	res, sess, next, revs, err := s.store.RotateRefresh(ctx, presented, now, now.Add(s.refreshTTL), s.revocationUntil(now))
	if err != nil {
		return nil, err
	}
	switch res {
	case gatehouse.RefreshReplayed:
		s.revoked.Add(now, revs...)
		for _, rv := range revs {
			s.log.WarnContext(ctx, "refresh token replayed: session revoked", "session", rv.SessionID)
			s.replayEvent(ctx, rv.SessionID, c)
		}
		return nil, errRefresh
	case gatehouse.RefreshUnknown:
		return nil, errRefresh
	}
	// The user's id and name never change, so the cache answers: a deleted
	// user's sessions are gone, and the rotation above would have failed.
	u, err := s.publicUser(ctx, sess.UserID, errRefresh)
	if err != nil {
		return nil, err
	}
	return s.pair(u, sess, next)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
