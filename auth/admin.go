package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// The administrator's flows: the admin CLI calls them. Each revokes
// through the Service, so that this instance's revocation set learns of it
// at once and the others through the store's revocation feed, and each is
// recorded in the audit trail with Reason "admin".

// DeleteUser removes an account and revokes all of its sessions.
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	revs, err := s.store.DeleteUser(ctx, userID, now, s.revocationUntil(now))
	if err != nil {
		return err
	}
	s.revoked.Add(now, revs...)
	s.users.remove(userID)
	s.adminEvent(ctx, gatehouse.AuditUserDeleted, u, "")
	return nil
}

// LockUser locks an account and revokes all of its sessions; it returns
// how many were revoked. A locked user's logins are refused with the same
// invalid_credentials as a wrong password (so the lock does not tell an
// attacker that the password was right), and CreateSession refuses them
// even to a login that was already hashing when the lock came.
func (s *Service) LockUser(ctx context.Context, userID string) (int, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return 0, err
	}
	now := s.now().UTC()
	revs, err := s.store.LockUser(ctx, userID, now, s.revocationUntil(now))
	if err != nil {
		return 0, err
	}
	s.revoked.Add(now, revs...)
	s.adminEvent(ctx, gatehouse.AuditUserLocked, u, "")
	return len(revs), nil
}

// UnlockUser lets a locked account log in again.
func (s *Service) UnlockUser(ctx context.Context, userID string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.store.UnlockUser(ctx, userID, s.now().UTC()); err != nil {
		return err
	}
	s.adminEvent(ctx, gatehouse.AuditUserUnlocked, u, "")
	return nil
}

// RevokeUserSessions revokes one session of the user (sessionID), or all
// of them (sessionID empty), and returns the sessions revoked. A session
// that is not the user's, or has ended, is ENOTFOUND.
func (s *Service) RevokeUserSessions(ctx context.Context, userID, sessionID string) ([]string, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	scope := gatehouse.RevokeOne
	if sessionID == "" {
		scope = gatehouse.RevokeAll
	}
	now := s.now().UTC()
	revs, err := s.store.RevokeSessions(ctx, userID, sessionID, scope, now, s.revocationUntil(now))
	if err != nil {
		return nil, err
	}
	s.revoked.Add(now, revs...)
	ids := make([]string, 0, len(revs))
	for _, rv := range revs {
		ids = append(ids, rv.SessionID)
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditSessionRevoked, UserID: u.ID, Username: u.Username, SessionID: rv.SessionID, Reason: "admin"})
	}
	return ids, nil
}

func (s *Service) adminEvent(ctx context.Context, typ string, u *gatehouse.User, sessionID string) {
	s.Record(ctx, gatehouse.AuditEvent{Type: typ, UserID: u.ID, Username: u.Username, SessionID: sessionID, Reason: "admin"})
}
