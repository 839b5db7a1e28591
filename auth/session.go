package auth

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// Principal is who an authenticated request acts for.
type Principal struct {
	UserID    string
	Username  string
	SessionID string
	Claims    *token.Claims
}

var errToken = gatehouse.Errorf(gatehouse.EINVALIDTOKEN, "access token is invalid, expired or revoked")

// Authenticate verifies an access token and checks that its session has not
// been revoked. The check is an in-memory lookup (see Revoked) unless the
// service is strict, in which case the store is asked every time.
func (s *Service) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	c, err := s.verifyToken(ctx, raw)
	if err != nil {
		return nil, err
	}
	if s.revoked.Has(c.SessionID, s.now()) {
		return nil, errToken
	}
	if s.strict {
		revoked, err := s.store.IsRevoked(ctx, c.SessionID)
		if err != nil {
			return nil, err
		} else if revoked {
			return nil, errToken
		}
	}
	return &Principal{UserID: c.Subject, Username: c.Username, SessionID: c.SessionID, Claims: c}, nil
}

// Scope names of the logout request.
const (
	ScopeLocal  = "local"
	ScopeOthers = "others"
	ScopeGlobal = "global"
)

// Logout revokes the presenting session (local), every other session of
// the user (others) or all of them (global).
func (s *Service) Logout(ctx context.Context, p *Principal, scope string) error {
	var sc gatehouse.RevokeScope
	switch scope {
	case "", ScopeLocal:
		sc = gatehouse.RevokeOne
	case ScopeOthers:
		sc = gatehouse.RevokeOthers
	case ScopeGlobal:
		sc = gatehouse.RevokeAll
	default:
		return gatehouse.Errorf(gatehouse.EMALFORMED, "scope must be one of %s", strings.Join([]string{ScopeLocal, ScopeOthers, ScopeGlobal}, ", "))
	}
	err := s.revoke(ctx, p.UserID, p.SessionID, sc)
	if sc == gatehouse.RevokeOne && gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		// Revoked concurrently by another request: the outcome stands.
		err = nil
	}
	if err == nil {
		s.principalEvent(ctx, p, gatehouse.AuditLogout, p.SessionID, [...]string{ScopeLocal, ScopeOthers, ScopeGlobal}[sc])
	}
	return err
}

// RevokeSession revokes one of the principal's own sessions. Another
// user's session, or one that has already ended, is ENOTFOUND.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, sessionID string) error {
	err := s.revoke(ctx, p.UserID, sessionID, gatehouse.RevokeOne)
	if err == nil {
		s.principalEvent(ctx, p, gatehouse.AuditSessionRevoked, sessionID, "user")
	}
	return err
}

func (s *Service) revoke(ctx context.Context, userID, sessionID string, sc gatehouse.RevokeScope) error {
	now := s.now().UTC()
	revs, err := s.store.RevokeSessions(ctx, userID, sessionID, sc, now, s.revocationUntil(now))
	if err != nil {
		return err
	}
	s.revoked.Add(now, revs...)
	return nil
}

// Sessions lists the principal's active sessions, newest first.
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]*gatehouse.Session, error) {
	return s.store.ListSessions(ctx, p.UserID, s.now().UTC())
}

// User returns the principal's account without its password hash, from
// memory when it can. A deleted user is EINVALIDTOKEN: the token speaks
// for nobody any more.
func (s *Service) User(ctx context.Context, p *Principal) (*gatehouse.User, error) {
	return s.publicUser(ctx, p.UserID, errToken)
}

// publicUser returns a user without the password hash, from the user cache
// when it can; notFound when there is no such user.
func (s *Service) publicUser(ctx context.Context, id string, notFound error) (*gatehouse.User, error) {
	if u, ok := s.users.get(id); ok {
		return &u, nil
	}
	u, err := s.store.UserByID(ctx, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	s.users.put(u)
	return &gatehouse.User{ID: u.ID, Username: u.Username, CreatedAt: u.CreatedAt}, nil
}

func (s *Service) userWithHash(ctx context.Context, id string) (*gatehouse.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errToken
	}
	return u, err
}

// ChangePassword replaces the principal's password after checking the
// current one, then revokes every other session of the user.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	u, err := s.userWithHash(ctx, p.UserID)
	if err != nil {
		return err
	}
	next = NormalizePassword(next)
	if err := ValidatePassword(next, u.Username); err != nil {
		return err
	}
	// The current password is guessed against the same throttle as at
	// login, so that a stolen access token cannot be used to find it.
	key := userThrottleKey(u.Username)
	if err := s.takeUser(ctx, key, s.now()); err != nil {
		return err
	}
	ok, _, err := s.verify(ctx, u.PasswordHash, NormalizePassword(current))
	if err != nil {
		return err
	} else if !ok {
		return gatehouse.Errorf(gatehouse.ECREDENTIALS, "current password is wrong")
	}
	s.resetUser(ctx, key)
	h, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, h, s.now().UTC()); err != nil {
		return err
	}
	err = s.revoke(ctx, u.ID, p.SessionID, gatehouse.RevokeOthers)
	s.principalEvent(ctx, p, gatehouse.AuditPasswordChanged, p.SessionID, "")
	return err
}
