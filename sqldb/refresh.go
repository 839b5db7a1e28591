package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// RotateRefresh replaces the refresh token whose hash is oldHash with
// newHash, in one transaction, and extends the session to expiresAt.
//
// The token's row is read with a row lock (SELECT … FOR UPDATE; on SQLite
// the transaction holds the write lock from BEGIN IMMEDIATE), so calls with
// the same oldHash take turns: the first rotates, the next finds the token
// rotated and revokes the session (RefreshReplayed, with the revocation,
// lasting until `until`), the later ones find the session ended
// (RefreshUnknown). An unknown or expired token, or one whose session is
// revoked or expired at now, gives RefreshUnknown and changes nothing.
// On RefreshRotated the session is returned with LastUsedAt now and
// ExpiresAt expiresAt.
func (db *DB) RotateRefresh(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, until time.Time) (gatehouse.RefreshResult, *gatehouse.Session, []gatehouse.Revocation, error) {
	if len(newHash) != hashLen {
		return 0, nil, nil, fmt.Errorf("sqldb: rotate refresh: new hash has %d bytes, want %d", len(newHash), hashLen)
	}
	if len(oldHash) != hashLen {
		return gatehouse.RefreshUnknown, nil, nil, nil
	}
	var (
		result gatehouse.RefreshResult
		sess   *gatehouse.Session
		revs   []gatehouse.Revocation
	)
	err := db.write(ctx, now, func(c *conn) (err error) {
		result, sess, revs, err = c.rotate(ctx, oldHash, newHash, expiresAt, until)
		return err
	})
	if err != nil {
		return 0, nil, nil, db.wrap(ctx, "rotate refresh", err)
	}
	return result, sess, revs, nil
}

func (c *conn) rotate(ctx context.Context, oldHash, newHash []byte, expiresAt, until time.Time) (gatehouse.RefreshResult, *gatehouse.Session, []gatehouse.Revocation, error) {
	var tokenExpires, rotatedAt time.Time
	s, err := scanSession(c.queryRow(ctx, `SELECT `+sessionCols+`, t.expires_at, t.rotated_at
		FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
		WHERE t.hash = ?`+c.d.forUpdate, oldHash), timeCol{&tokenExpires}, timeCol{&rotatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.RefreshUnknown, nil, nil, nil
	} else if err != nil {
		return 0, nil, nil, err
	}
	if !c.now.Before(tokenExpires) || !s.Active(c.now) {
		return gatehouse.RefreshUnknown, nil, nil, nil
	}
	if rotatedAt.IsZero() {
		ok, err := c.execOne(ctx, `UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ? AND rotated_at IS NULL`,
			micros(c.now), oldHash)
		if err != nil {
			return 0, nil, nil, err
		}
		if ok {
			return c.extend(ctx, s, newHash, expiresAt)
		}
		// Rotated since we read it: the row lock makes this impossible, but
		// should it happen it is a replay like any other.
	}
	r, ok, err := c.revoke(ctx, s.UserID, s.ID, until)
	if err != nil || !ok {
		return gatehouse.RefreshUnknown, nil, nil, err
	}
	return gatehouse.RefreshReplayed, nil, []gatehouse.Revocation{r}, nil
}

// extend stores the session's new refresh token and new expiry.
func (c *conn) extend(ctx context.Context, s *gatehouse.Session, newHash []byte, expiresAt time.Time) (gatehouse.RefreshResult, *gatehouse.Session, []gatehouse.Revocation, error) {
	_, err := c.exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		newHash, s.ID, micros(c.now), micros(expiresAt))
	if err != nil {
		return 0, nil, nil, err
	}
	_, err = c.exec(ctx, `UPDATE sessions SET last_used_at = ?, expires_at = ? WHERE id = ?`,
		micros(c.now), micros(expiresAt), s.ID)
	if err != nil {
		return 0, nil, nil, err
	}
	s.LastUsedAt, s.ExpiresAt = stored(c.now), stored(expiresAt)
	return gatehouse.RefreshRotated, s, nil, nil
}
