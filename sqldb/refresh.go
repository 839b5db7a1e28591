package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The refresh token lives on its session row (migration 0005): refresh_hash
// is the hash of the current token (gatehouse.RefreshToken.Hash),
// refresh_gen its generation and refresh_key the session's key of the
// tokens' tags. The key never leaves this package: the store signs the
// tokens it mints and checks the tags of the ones presented.

// sessionColsBare are sessionCols without the table alias, for RETURNING.
var sessionColsBare = strings.ReplaceAll(sessionCols, "s.", "")

// rotateQuery replaces the current refresh token of an active session, by
// primary key, if the presented one is current: the condition on the old
// hash makes it a compare-and-set, so of concurrent rotations of one token
// exactly one matches.
const rotateQuery = `UPDATE sessions SET refresh_hash = ?, refresh_gen = ?, last_used_at = ?, expires_at = ?
	WHERE id = ? AND refresh_hash = ? AND revoked_at IS NULL AND expires_at > ?`

// RotateRefresh replaces the session's current refresh token, if it is the
// one presented, with a new token of the next generation, and extends the
// session to expiresAt. On success (RefreshRotated) it returns the session,
// LastUsedAt now and ExpiresAt expiresAt, and the new token.
//
// The success path is one statement: the conditional UPDATE of the session
// row in autocommit, RETURNING the session and its key on SQLite and
// PostgreSQL; on MySQL/MariaDB, which have no UPDATE … RETURNING, a plain
// read of the row by primary key comes first. No transaction is needed: the
// UPDATE's condition on the old hash is the compare-and-set.
//
// When nothing was updated, the session is read: gone, revoked, expired, a
// session from before migration 0005, or a tag that its key did not make
// (a forgery by someone who knows only the session id) give RefreshUnknown
// and change nothing. A genuine token of an earlier generation — or of the
// current one but not the current token: the loser of a concurrent
// rotation — has come back after it was rotated: the session is revoked
// with a revocation lasting until `until` (RefreshReplayed). Of concurrent
// replays one revokes; the others find the session ended (RefreshUnknown).
// A genuine token of a later generation than the store's (a database
// restored from a backup) gives RefreshUnknown.
func (db *DB) RotateRefresh(ctx context.Context, presented *gatehouse.RefreshToken, now, expiresAt time.Time, until time.Time) (gatehouse.RefreshResult, *gatehouse.Session, string, []gatehouse.Revocation, error) {
	if presented.Gen >= maxRefreshGen {
		return gatehouse.RefreshUnknown, nil, "", nil, nil
	}
	next, ok := gatehouse.NewRefreshToken(presented.SessionID, presented.Gen+1)
	if !ok {
		return gatehouse.RefreshUnknown, nil, "", nil, nil
	}
	hash := presented.Hash()
	args := []any{next.Hash(), int64(next.Gen), micros(now), micros(expiresAt),
		presented.SessionID, hash, micros(now)}
	var (
		s   *gatehouse.Session
		key []byte
		err error
	)
	if db.d.updateReturning {
		err = db.writeOne(ctx, now, func(c *conn) (err error) {
			s, err = scanSession(c.queryRow(ctx, rotateQuery+` RETURNING `+sessionColsBare+`, refresh_key`, args...), &key)
			return err
		})
		if errors.Is(err, sql.ErrNoRows) {
			s, err = nil, nil
		}
	} else {
		s, key, err = db.rotateRead(ctx, presented, hash, now, expiresAt, args)
	}
	if err != nil {
		return 0, nil, "", nil, db.wrap(ctx, "rotate refresh", err)
	}
	if s != nil {
		return gatehouse.RefreshRotated, s, next.Sign(key), nil, nil
	}
	res, revs, err := db.refreshMiss(ctx, presented, hash, now, until)
	if err != nil {
		return 0, nil, "", nil, db.wrap(ctx, "rotate refresh", err)
	}
	return res, nil, "", revs, nil
}

// maxRefreshGen keeps generations within a signed BIGINT.
const maxRefreshGen = 1<<63 - 1

// rotateRead is the rotation for dialects without UPDATE … RETURNING: read
// the session, then the conditional UPDATE. s is nil when nothing was
// updated.
func (db *DB) rotateRead(ctx context.Context, presented *gatehouse.RefreshToken, hash []byte, now, expiresAt time.Time, args []any) (s *gatehouse.Session, key []byte, err error) {
	r, err := db.sessionRefresh(ctx, presented.SessionID)
	if err != nil || r == nil || !r.Active(now) || !bytes.Equal(r.hash, hash) {
		return nil, nil, err
	}
	var ok bool
	err = db.writeOne(ctx, now, func(c *conn) (err error) {
		ok, err = c.execOne(ctx, rotateQuery, args...)
		return err
	})
	if err != nil || !ok {
		return nil, nil, err
	}
	r.LastUsedAt, r.ExpiresAt = stored(now), stored(expiresAt)
	return &r.Session, r.key, nil
}

// refreshMiss decides what a refresh token that did not rotate was, and
// revokes its session if it was a genuine token already rotated.
func (db *DB) refreshMiss(ctx context.Context, presented *gatehouse.RefreshToken, hash []byte, now, until time.Time) (gatehouse.RefreshResult, []gatehouse.Revocation, error) {
	r, err := db.sessionRefresh(ctx, presented.SessionID)
	if err != nil || r == nil || !r.Active(now) || !presented.Genuine(r.key) ||
		presented.Gen > r.gen || presented.Gen == r.gen && bytes.Equal(r.hash, hash) {
		return gatehouse.RefreshUnknown, nil, err
	}
	revs, err := db.revokeSession(ctx, r.UserID, r.ID, now, until)
	if err != nil || len(revs) == 0 {
		return gatehouse.RefreshUnknown, nil, err
	}
	return gatehouse.RefreshReplayed, revs, nil
}

// RevokeRefresh revokes the session of a refresh token whose tag the
// session's key made, current or already rotated, with a revocation lasting
// until `until`. An unknown or forged token, or a session already ended,
// changes nothing and returns no revocation.
func (db *DB) RevokeRefresh(ctx context.Context, t *gatehouse.RefreshToken, now, until time.Time) ([]gatehouse.Revocation, error) {
	r, err := db.sessionRefresh(ctx, t.SessionID)
	if err != nil || r == nil || !t.Genuine(r.key) {
		return nil, db.wrap(ctx, "revoke refresh", err)
	}
	revs, err := db.revokeSession(ctx, r.UserID, r.ID, now, until)
	return revs, db.wrap(ctx, "revoke refresh", err)
}

// revokeSession revokes one active session in a transaction of its own and
// returns its revocation, or none if the session had ended.
func (db *DB) revokeSession(ctx context.Context, userID, sessionID string, now, until time.Time) ([]gatehouse.Revocation, error) {
	var revs []gatehouse.Revocation
	err := db.write(ctx, now, func(c *conn) error {
		revs = nil
		r, ok, err := c.revoke(ctx, userID, sessionID, until)
		if ok {
			revs = []gatehouse.Revocation{r}
		}
		return err
	})
	return revs, err
}

// sessionRefresh is a session with its refresh columns.
type sessionRefresh struct {
	gatehouse.Session
	hash []byte // nil: a session from before migration 0005
	gen  uint64
	key  []byte
}

// sessionRefresh reads the session and its refresh columns, without a
// lock; nil when there is no such session.
func (db *DB) sessionRefresh(ctx context.Context, id string) (*sessionRefresh, error) {
	r := &sessionRefresh{}
	var gen int64
	s, err := scanSession(db.read().queryRow(ctx, `SELECT `+sessionCols+`, s.refresh_hash, s.refresh_gen, s.refresh_key
		FROM sessions s WHERE s.id = ?`, id), &r.hash, &gen, &r.key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	r.Session, r.gen = *s, uint64(gen)
	return r, nil
}
