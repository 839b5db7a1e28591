package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// This file holds the exported flows that report what happened: each runs
// its rule (flows.go, session.go) and then records the event, so that the
// rules read without the bookkeeping and no outcome goes unreported.

// Register creates an account. It is not throttled: it is for the
// operator's tools; requests from clients go through RegisterFrom.
func (s *Service) Register(ctx context.Context, username, password string) (*gatehouse.User, error) {
	u, err := s.register(ctx, username, password, "")
	s.registerEvent(ctx, u, err)
	return u, err
}

// RegisterFrom creates an account for a client, throttled per client
// address.
func (s *Service) RegisterFrom(ctx context.Context, username, password string, c Client) (*gatehouse.User, error) {
	u, err := s.register(ctx, username, password, addressKey(c.IP))
	s.registerEvent(ctx, u, err)
	return u, err
}

func (s *Service) registerEvent(ctx context.Context, u *gatehouse.User, err error) {
	switch {
	case err == nil:
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditRegistered, UserID: u.ID, Username: u.Username})
	case gatehouse.ErrorCode(err) == gatehouse.ETOOMANYREQUESTS:
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditThrottled, Reason: "register"})
	}
}

// Login checks a username and password and opens a session. Every refusal
// for the credentials is the same invalid_credentials; the audit trail
// keeps the reason (unknown_user, wrong_password, locked, throttled).
func (s *Service) Login(ctx context.Context, username, password string, c Client) (*TokenPair, error) {
	pair, err := s.throttledLogin(ctx, username, password, c)
	s.loginEvent(ctx, username, c, pair, err)
	return pair, err
}

// Refresh rotates a refresh token: it returns a new pair and the presented
// token stops working. Presenting a token that was already rotated revokes
// its whole session, since one of its holders is not the rightful one.
func (s *Service) Refresh(ctx context.Context, refresh string, c Client) (*TokenPair, error) {
	pair, err := s.refresh(ctx, refresh, c)
	e := gatehouse.AuditEvent{Type: EventRefreshed, Reason: gatehouse.ErrorCode(err), IP: c.IP, UserAgent: truncate(c.UserAgent, 512)}
	if err == nil {
		e.UserID, e.Username, e.SessionID = pair.User.ID, pair.User.Username, pair.Session.ID
	} else if e.Reason == gatehouse.ETOOMANYREQUESTS {
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditThrottled, Reason: "refresh", IP: c.IP, UserAgent: e.UserAgent})
	}
	s.Record(ctx, e)
	return pair, err
}

// replayEvent records a refresh replay with the session's owner. The
// lookups are on the rare replay path only.
func (s *Service) replayEvent(ctx context.Context, sessionID string, c Client) {
	e := gatehouse.AuditEvent{Type: gatehouse.AuditRefreshReplayed, SessionID: sessionID, IP: c.IP, UserAgent: truncate(c.UserAgent, 512)}
	if sess, err := s.store.SessionByID(ctx, sessionID); err == nil {
		e.UserID = sess.UserID
		if u, err := s.store.UserByID(ctx, sess.UserID); err == nil {
			e.Username = u.Username
		}
	}
	s.Record(ctx, e)
}

// principalEvent records an event of a principal's own doing.
func (s *Service) principalEvent(ctx context.Context, p *Principal, typ, sessionID, reason string) {
	s.Record(ctx, gatehouse.AuditEvent{Type: typ, UserID: p.UserID, Username: p.Username, SessionID: sessionID, Reason: reason})
}

// CompleteLogin is a login's second step: it redeems the challenge that
// Login answered (SecondFactorRequired) with a second factor and opens the
// session. A recovery code also revokes every other session of the user:
// whoever needed it may have lost a device that is still signed in.
func (s *Service) CompleteLogin(ctx context.Context, challenge string, proof SecondFactorProof, c Client) (*TokenPair, error) {
	pair, u, err := s.completeLogin(ctx, challenge, proof, c)
	e := gatehouse.AuditEvent{IP: c.IP, UserAgent: truncate(c.UserAgent, 512), Reason: proof.method()}
	if u != nil {
		e.UserID, e.Username = u.ID, u.Username
	}
	switch code := gatehouse.ErrorCode(err); {
	case pair != nil:
		e.SessionID = pair.Session.ID
		if e.Reason == MethodRecoveryCode {
			used := e
			used.Type, used.Reason = gatehouse.AuditRecoveryCodeUsed, "recovery_codes"
			s.Record(ctx, used)
		}
		e.Type = gatehouse.AuditLogin
	case code == gatehouse.EINVALIDSECONDFACTOR:
		e.Type = gatehouse.AuditSecondFactorFailed
	case code == gatehouse.ETOOMANYREQUESTS:
		e.Type, e.Reason = gatehouse.AuditThrottled, "second_factor"
	default:
		e.Type, e.Reason = EventLoginError, code
	}
	s.Record(ctx, e)
	return pair, err
}
