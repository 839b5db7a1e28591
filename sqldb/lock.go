package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

// errLocked is what CreateSession answers for a locked user. auth turns it
// into the same invalid_credentials as a wrong password.
func errLocked() error { return gatehouse.Errorf(gatehouse.ECREDENTIALS, "account is locked") }

// LockUser sets the user's locked_at to now (unless already set) and
// revokes every active session of the user, each with a revocation lasting
// until `until`, in one transaction; it returns the revocations. The user
// row is updated first, so a CreateSession that reads it under a lock
// either finishes before (and its session is revoked here) or sees the
// lock. ENOTFOUND when there is no such user.
func (db *DB) LockUser(ctx context.Context, id string, now, until time.Time) ([]gatehouse.Revocation, error) {
	if !lookupable(id) {
		return nil, errUserNotFound()
	}
	var revs []gatehouse.Revocation
	err := db.write(ctx, now, func(c *conn) error {
		revs = nil
		res, err := c.exec(ctx, `UPDATE users SET locked_at = COALESCE(locked_at, ?), updated_at = ? WHERE id = ?`,
			micros(c.now), micros(c.now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errUserNotFound()
		}
		revs, err = c.revokeActive(ctx, id, "", until)
		return err
	})
	if err != nil {
		return nil, db.wrap(ctx, "lock user", err)
	}
	return revs, nil
}

// UnlockUser clears the user's locked_at. ENOTFOUND when there is no such
// user.
func (db *DB) UnlockUser(ctx context.Context, id string, now time.Time) error {
	if !lookupable(id) {
		return errUserNotFound()
	}
	err := db.write(ctx, now, func(c *conn) error {
		var found string
		err := c.queryRow(ctx, `SELECT id FROM users WHERE id = ?`+c.d.forUpdate, id).Scan(&found)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound()
		} else if err != nil {
			return err
		}
		_, err = c.exec(ctx, `UPDATE users SET locked_at = NULL, updated_at = ? WHERE id = ?`, micros(c.now), id)
		return err
	})
	return db.wrap(ctx, "unlock user", err)
}

// checkUnlocked reads the user's lock state inside a write transaction,
// with a row lock (on SQLite the transaction already holds the write lock),
// so that LockUser and CreateSession take turns on the user. ENOTFOUND
// when there is no such user, ECREDENTIALS when it is locked.
func (c *conn) checkUnlocked(ctx context.Context, userID string) error {
	if !lookupable(userID) {
		return errUserNotFound()
	}
	var lockedAt sql.NullInt64
	err := c.queryRow(ctx, `SELECT locked_at FROM users WHERE id = ?`+c.d.forUpdate, userID).Scan(&lockedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return errUserNotFound()
	} else if err != nil {
		return err
	} else if lockedAt.Valid {
		return errLocked()
	}
	return nil
}
