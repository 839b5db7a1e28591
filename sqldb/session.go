package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// Column limits for what the client sends about itself.
const (
	maxUserAgent = 512
	maxIP        = 64
)

const sessionCols = `s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.revoked_at, s.user_agent, s.ip, s.amr`

func scanSession(row scanner, extra ...any) (*gatehouse.Session, error) {
	s := &gatehouse.Session{}
	dest := append([]any{&s.ID, &s.UserID, timeCol{&s.CreatedAt}, timeCol{&s.LastUsedAt},
		timeCol{&s.ExpiresAt}, timeCol{&s.RevokedAt}, &s.UserAgent, &s.IP, amrCol{&s.AMR}}, extra...)
	return s, row.Scan(dest...)
}

// clip makes s storable in a column of max bytes: valid UTF-8 without NUL
// (PostgreSQL refuses both), cut at a character boundary.
func clip(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

func errSessionNotFound() error { return gatehouse.Errorf(gatehouse.ENOTFOUND, "session not found") }

// CreateSession inserts s with a new refresh key and returns its first
// refresh token (generation 0; only its hash is stored), which expires with
// s at s.ExpiresAt. It sets a missing ID, CreatedAt (now) and LastUsedAt
// (CreatedAt) on s, and cuts s.UserAgent to 512 and s.IP to 64 bytes (valid
// UTF-8) as they are stored. ENOTFOUND when s.UserID names no user,
// ECREDENTIALS when the user is locked (see checkUnlocked).
func (db *DB) CreateSession(ctx context.Context, s *gatehouse.Session) (string, error) {
	now := db.now()
	if s.ID == "" {
		s.ID = gatehouse.NewID(now)
	}
	refresh, ok := gatehouse.NewRefreshToken(s.ID, 0)
	if !ok {
		return "", fmt.Errorf("sqldb: create session: id %q is not a UUID", s.ID)
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.LastUsedAt.IsZero() {
		s.LastUsedAt = s.CreatedAt
	}
	s.UserAgent, s.IP = clip(s.UserAgent, maxUserAgent), clip(s.IP, maxIP)
	key := gatehouse.NewRefreshKey()
	err := db.write(ctx, now, func(c *conn) error {
		if err := c.checkUnlocked(ctx, s.UserID); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO sessions
			(id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip, amr, refresh_hash, refresh_gen, refresh_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.UserID, micros(s.CreatedAt), micros(s.LastUsedAt), micros(s.ExpiresAt),
			nullMicros(s.RevokedAt), s.UserAgent, s.IP, amrText(s.AMR), refresh.Hash(), int64(refresh.Gen), key)
		if isForeignKeyViolation(err) {
			return errUserNotFound()
		}
		return err
	})
	if err != nil {
		return "", db.wrap(ctx, "create session", err)
	}
	return refresh.Sign(key), nil
}

// SessionByID returns the session, ended or not. ENOTFOUND when there is
// no such session.
func (db *DB) SessionByID(ctx context.Context, id string) (*gatehouse.Session, error) {
	if !lookupable(id) {
		return nil, errSessionNotFound()
	}
	s, err := scanSession(db.read().queryRow(ctx, `SELECT `+sessionCols+` FROM sessions s WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSessionNotFound()
	} else if err != nil {
		return nil, db.wrap(ctx, "session by id", err)
	}
	return s, nil
}

// ListSessions returns the user's sessions that are active at now (not
// revoked, ExpiresAt after now), newest first.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*gatehouse.Session, error) {
	if !lookupable(userID) {
		return []*gatehouse.Session{}, nil
	}
	rows, err := db.read().query(ctx, `SELECT `+sessionCols+` FROM sessions s
		WHERE s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ?
		ORDER BY s.created_at DESC, s.id DESC`, userID, micros(now))
	if err != nil {
		return nil, db.wrap(ctx, "list sessions", err)
	}
	defer rows.Close()
	sessions := []*gatehouse.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, db.wrap(ctx, "list sessions", err)
		}
		sessions = append(sessions, s)
	}
	return sessions, db.wrap(ctx, "list sessions", rows.Err())
}

// IsRevoked reports whether the session has been revoked or does not exist
// (deleted with its user, or by DeleteExpired). An expired session that is
// not revoked is not reported: its tokens have expired too.
func (db *DB) IsRevoked(ctx context.Context, sessionID string) (bool, error) {
	if !lookupable(sessionID) {
		return true, nil
	}
	var revokedAt sql.NullInt64
	err := db.read().queryRow(ctx, `SELECT revoked_at FROM sessions WHERE id = ?`, sessionID).Scan(&revokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	} else if err != nil {
		return true, db.wrap(ctx, "is revoked", err)
	}
	return revokedAt.Valid, nil
}
