package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// revoke ends the user's session sessionID if it is active at c.now and
// records a revocation lasting until `until`. ok is false, and nothing
// changes, when there is no such active session of that user. The update is
// conditional, so two transactions cannot both revoke one session.
func (c *conn) revoke(ctx context.Context, userID, sessionID string, until time.Time) (r gatehouse.Revocation, ok bool, err error) {
	ok, err = c.execOne(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?`,
		micros(c.now), sessionID, userID, micros(c.now))
	if err != nil || !ok {
		return r, false, err
	}
	r = gatehouse.Revocation{SessionID: sessionID, RevokedAt: stored(c.now), Until: stored(until)}
	return r, true, c.insertRevocation(ctx, &r)
}

// revokeActive revokes every active session of the user but except (when
// not empty), each with a revocation lasting until `until`. The rows are
// locked in id order, so that two of these cannot deadlock each other.
func (c *conn) revokeActive(ctx context.Context, userID, except string, until time.Time) ([]gatehouse.Revocation, error) {
	rows, err := c.query(ctx, `SELECT id FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY id`+c.d.forUpdate,
		userID, micros(c.now))
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		if id != except {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var revs []gatehouse.Revocation
	for _, id := range ids {
		r, ok, err := c.revoke(ctx, userID, id, until)
		if err != nil {
			return nil, err
		} else if ok {
			revs = append(revs, r)
		}
	}
	return revs, nil
}

// RevokeSessions revokes sessions of userID by scope relative to sessionID,
// records a revocation lasting until `until` for each, and returns them,
// Seq filled in, in Seq order. Only sessions active at now are revoked;
// ended ones are left alone. With RevokeOne, ENOTFOUND when sessionID is
// not an active session of userID: another user's, unknown, or already
// revoked or expired (so that revoking twice, or someone else's session,
// answers the same 404).
func (db *DB) RevokeSessions(ctx context.Context, userID, sessionID string, scope gatehouse.RevokeScope, now, until time.Time) ([]gatehouse.Revocation, error) {
	if scope != gatehouse.RevokeOne && scope != gatehouse.RevokeOthers && scope != gatehouse.RevokeAll {
		return nil, fmt.Errorf("sqldb: revoke sessions: unknown scope %d", scope)
	}
	if !lookupable(userID) || !lookupable(sessionID) {
		if scope == gatehouse.RevokeOne {
			return nil, errSessionNotFound()
		}
		return nil, nil
	}
	except := sessionID
	if scope == gatehouse.RevokeAll {
		except = ""
	}
	var revs []gatehouse.Revocation
	err := db.write(ctx, now, func(c *conn) (err error) {
		if scope != gatehouse.RevokeOne {
			revs, err = c.revokeActive(ctx, userID, except, until)
			return err
		}
		r, ok, err := c.revoke(ctx, userID, sessionID, until)
		if err == nil && !ok {
			return errSessionNotFound()
		}
		revs = []gatehouse.Revocation{r}
		return err
	})
	if err != nil {
		return nil, db.wrap(ctx, "revoke sessions", err)
	}
	return revs, nil
}

// Revocations returns the revocations with Seq > after or RevokedAt >= since
// whose Until is after now, in Seq order. A reader passes the largest Seq it
// has seen and a since a little before its last read: a transaction that
// took a smaller Seq but committed after that read is still found.
func (db *DB) Revocations(ctx context.Context, after int64, since, now time.Time) ([]gatehouse.Revocation, error) {
	rows, err := db.read().query(ctx, `SELECT seq, session_id, revoked_at, until FROM revocations
		WHERE (seq > ? OR revoked_at >= ?) AND until > ? ORDER BY seq`, after, micros(since), micros(now))
	if err != nil {
		return nil, db.wrap(ctx, "revocations", err)
	}
	defer rows.Close()
	revs := []gatehouse.Revocation{}
	for rows.Next() {
		var r gatehouse.Revocation
		if err := rows.Scan(&r.Seq, &r.SessionID, timeCol{&r.RevokedAt}, timeCol{&r.Until}); err != nil {
			return nil, db.wrap(ctx, "revocations", err)
		}
		revs = append(revs, r)
	}
	return revs, db.wrap(ctx, "revocations", rows.Err())
}

// DeleteExpired removes the sessions that expired or were revoked before now
// (their refresh tokens live on them), the revocations whose Until is
// before now and the login challenges that expired before now, and
// returns how many rows went.
//
// It is a janitor, not a unit of work: each statement commits on its own,
// so that it never holds locks across the tables that the hot path locks in
// the other order; one that fails half-way is simply finished by the next.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	t := micros(now)
	return db.deleteEach(ctx, now, "delete expired", []deletion{
		{`DELETE FROM sessions WHERE expires_at < ?`, []any{t}},
		{`DELETE FROM sessions WHERE revoked_at < ?`, []any{t}},
		{`DELETE FROM revocations WHERE until < ?`, []any{t}},
		{`DELETE FROM login_challenges WHERE expires_at < ?`, []any{t}},
	})
}

// deletion is one statement of a janitor's deleteEach.
type deletion struct {
	query string
	args  []any
}

// deleteEach runs each deletion in a transaction of its own and returns
// how many rows went in all.
func (db *DB) deleteEach(ctx context.Context, now time.Time, op string, ds []deletion) (int64, error) {
	var total int64
	for _, d := range ds {
		var n int64
		err := db.write(ctx, now, func(c *conn) error {
			res, err := c.exec(ctx, d.query, d.args...)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		if err != nil {
			return total, db.wrap(ctx, op, err)
		}
		total += n
	}
	return total, nil
}
