package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

const userCols = `id, username, password_hash, created_at, updated_at, locked_at,
	COALESCE(email, ''), COALESCE(pending_email, '')`

func scanUser(row scanner) (*gatehouse.User, error) {
	u := &gatehouse.User{}
	err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, timeCol{&u.LockedAt},
		&u.Email, &u.PendingEmail)
	return u, err
}

// usernameKey is the form in which usernames are unique and looked up:
// ASCII letters in lower case. Only ASCII is folded, as usernames are ASCII;
// Unicode case folding would make "K" (Kelvin sign) equal to "k".
func usernameKey(username string) string {
	b := []byte(username)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// lookupable reports whether s can be compared with a stored key at all.
// PostgreSQL refuses invalid UTF-8 and NUL bytes with an error; such input
// from a client names no row, and says so.
func lookupable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func errUserNotFound() error { return gatehouse.Errorf(gatehouse.ENOTFOUND, "user not found") }

// CreateUser inserts u. It sets a missing ID (a new gatehouse.NewID),
// CreatedAt (now) and UpdatedAt (CreatedAt) on u. It returns EUSERNAMETAKEN
// when the username, compared without regard to case, already exists: the
// unique key on username_key decides, so that concurrent registrations of
// one name cannot both succeed.
func (db *DB) CreateUser(ctx context.Context, u *gatehouse.User) error {
	now := db.now()
	if u.ID == "" {
		u.ID = gatehouse.NewID(now)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	err := db.write(ctx, now, func(c *conn) error {
		_, err := c.exec(ctx, `INSERT INTO users (id, username, username_key, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, usernameKey(u.Username), u.PasswordHash, micros(u.CreatedAt), micros(u.UpdatedAt))
		if isUniqueViolation(err) {
			// The id is a fresh random UUID: the username is what clashed.
			return gatehouse.Errorf(gatehouse.EUSERNAMETAKEN, "username is taken")
		}
		return err
	})
	return db.wrap(ctx, "create user", err)
}

// UserByID returns ENOTFOUND when there is no such user.
func (db *DB) UserByID(ctx context.Context, id string) (*gatehouse.User, error) {
	if !lookupable(id) {
		return nil, errUserNotFound()
	}
	u, err := scanUser(db.read().queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	} else if err != nil {
		return nil, db.wrap(ctx, "user by id", err)
	}
	return u, nil
}

// UserByUsername looks the user up without regard to case. It returns
// ENOTFOUND when there is no such user.
func (db *DB) UserByUsername(ctx context.Context, username string) (*gatehouse.User, error) {
	if !lookupable(username) {
		return nil, errUserNotFound()
	}
	u, err := scanUser(db.read().queryRow(ctx, `SELECT `+userCols+` FROM users WHERE username_key = ?`,
		usernameKey(username)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	} else if err != nil {
		return nil, db.wrap(ctx, "user by username", err)
	}
	return u, nil
}

// ListUsers returns every user, oldest first.
func (db *DB) ListUsers(ctx context.Context) ([]*gatehouse.User, error) {
	rows, err := db.read().query(ctx, `SELECT `+userCols+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, db.wrap(ctx, "list users", err)
	}
	defer rows.Close()
	users := []*gatehouse.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap(ctx, "list users", err)
		}
		users = append(users, u)
	}
	return users, db.wrap(ctx, "list users", rows.Err())
}

// SetPasswordHash replaces a user's hash and sets UpdatedAt to now.
// ENOTFOUND when there is no such user.
func (db *DB) SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	if !lookupable(userID) {
		return errUserNotFound()
	}
	err := db.write(ctx, now, func(c *conn) error {
		ok, err := c.execOne(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			hash, micros(c.now), userID)
		if err == nil && !ok {
			return errUserNotFound()
		}
		return err
	})
	return db.wrap(ctx, "set password hash", err)
}

// DeleteUser revokes every active session of the user (revocations lasting
// until `until`) and removes the user, with their sessions and refresh
// tokens, in one transaction, and returns the revocations. ENOTFOUND when
// there is no such user.
func (db *DB) DeleteUser(ctx context.Context, id string, now, until time.Time) ([]gatehouse.Revocation, error) {
	if !lookupable(id) {
		return nil, errUserNotFound()
	}
	var revs []gatehouse.Revocation
	err := db.write(ctx, now, func(c *conn) error {
		revs = nil
		var found string
		err := c.queryRow(ctx, `SELECT id FROM users WHERE id = ?`+c.d.forUpdate, id).Scan(&found)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound()
		} else if err != nil {
			return err
		}
		if revs, err = c.revokeActive(ctx, id, "", until); err != nil {
			return err
		}
		_, err = c.exec(ctx, `DELETE FROM users WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, db.wrap(ctx, "delete user", err)
	}
	return revs, nil
}
