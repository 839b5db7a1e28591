package gatehouse

import (
	"context"
	"time"
)

// Session is one login. Every access and refresh token belongs to exactly
// one session; its ID is the tokens' sid claim.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // when the newest refresh token expires
	RevokedAt  time.Time // zero while the session lives
	UserAgent  string
	IP         string
	// AMR lists how the login authenticated (RFC 8176 values: "pwd",
	// "otp", "hwk"); every access token of the session carries it.
	AMR []string
}

// Active reports whether the session is neither revoked nor expired at now.
func (s *Session) Active(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// Revocation records that a session was revoked. Its access tokens are
// refused until Until, the latest expiry any of them can have; after that
// the record is no longer needed by anyone.
type Revocation struct {
	Seq       int64 // store-assigned, increasing; the cursor of the feed
	SessionID string
	Until     time.Time
	RevokedAt time.Time
}

// RevokeScope selects which sessions of a user RevokeSessions revokes.
type RevokeScope int

const (
	// RevokeOne revokes only the named session.
	RevokeOne RevokeScope = iota
	// RevokeOthers revokes every session of the user but the named one.
	RevokeOthers
	// RevokeAll revokes every session of the user.
	RevokeAll
)

// RefreshResult tells what RotateRefresh found.
type RefreshResult int

const (
	// RefreshRotated means the token was current and has been replaced.
	RefreshRotated RefreshResult = iota
	// RefreshUnknown means no such token was ever issued, or its session
	// has ended (revoked, expired or deleted).
	RefreshUnknown
	// RefreshReplayed means the token had already been rotated: its session
	// has now been revoked.
	RefreshReplayed
)

// SessionStore keeps sessions, each with its current refresh token (as a
// hash only, see RefreshToken), and the feed of revocations.
type SessionStore interface {
	// CreateSession inserts s with a new refresh key and returns its first
	// refresh token (generation 0), which expires with s at s.ExpiresAt.
	// ECREDENTIALS when the user is locked (read under a lock on the user,
	// so that a login racing LockUser cannot leave a session behind).
	CreateSession(ctx context.Context, s *Session) (refresh string, err error)
	// SessionByID returns ENOTFOUND when there is no such session.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// ListSessions returns the user's sessions that are active at now,
	// newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// RotateRefresh replaces the session's current refresh token, if it is
	// the one presented, with a new one (returned), and extends the session
	// to expiresAt. At most one of any number of concurrent calls with the
	// same token rotates. A genuine token that is no longer current (it was
	// rotated) revokes its session (RefreshReplayed, with the revocation);
	// an unknown or forged token, or one whose session has ended, gives
	// RefreshUnknown.
	RotateRefresh(ctx context.Context, presented *RefreshToken, now, expiresAt time.Time, until time.Time) (RefreshResult, *Session, string, []Revocation, error)
	// RevokeSessions revokes sessions of userID by scope relative to
	// sessionID, records a Revocation lasting until `until` for each, and
	// returns them. Sessions already ended are left alone. With RevokeOne and
	// a session that is not the user's, it returns ENOTFOUND.
	RevokeSessions(ctx context.Context, userID, sessionID string, scope RevokeScope, now, until time.Time) ([]Revocation, error)
	// RevokeRefresh revokes the session of a refresh token, current or
	// already rotated (but genuine), with a Revocation lasting until
	// `until`, and returns it. An unknown or forged token, or one whose
	// session has ended, changes nothing and returns none.
	RevokeRefresh(ctx context.Context, t *RefreshToken, now, until time.Time) ([]Revocation, error)
	// Revocations returns the revocations with Seq > after or RevokedAt >=
	// since (so that a late commit with a smaller Seq is not missed) whose
	// Until is after now, in Seq order.
	Revocations(ctx context.Context, after int64, since, now time.Time) ([]Revocation, error)
	// IsRevoked reports whether the session has been revoked or does not
	// exist; it is the strict mode's per-request check.
	IsRevoked(ctx context.Context, sessionID string) (bool, error)
	// DeleteExpired removes sessions and revocations that ended before now
	// and returns how many rows went.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}
