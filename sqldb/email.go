package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// hashLen is the size of a stored link-token hash: SHA-256.
const hashLen = 32

// emailKey is the form in which verified addresses are unique and looked
// up: lower case. auth accepts only ASCII addresses, so this folds ASCII.
func emailKey(email string) string { return strings.ToLower(email) }

func errTokenNotFound() error { return gatehouse.Errorf(gatehouse.ENOTFOUND, "token not found") }

// RequestEmail sets the user's pending address, replaces their unused
// verification tokens with tok and queues mails, in one transaction.
func (db *DB) RequestEmail(ctx context.Context, userID, email string, tok *gatehouse.EmailToken, mails []*gatehouse.Mail) error {
	if !lookupable(userID) {
		return errUserNotFound()
	}
	err := db.write(ctx, tok.CreatedAt, func(c *conn) error {
		ok, err := c.execOne(ctx, `UPDATE users SET pending_email = ?, updated_at = ? WHERE id = ?`,
			email, micros(c.now), userID)
		if err != nil {
			return err
		} else if !ok {
			return errUserNotFound()
		}
		if _, err := c.exec(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?`,
			userID, gatehouse.TokenVerifyEmail); err != nil {
			return err
		}
		return c.queueMail(ctx, tok, mails, db.now())
	})
	return db.wrap(ctx, "request email", err)
}

// VerifyEmail uses a verification token: the row is deleted under a
// condition, so of two concurrent uses one at most changes anything.
func (db *DB) VerifyEmail(ctx context.Context, hash []byte, now time.Time) (*gatehouse.User, error) {
	if len(hash) != hashLen {
		return nil, errTokenNotFound()
	}
	var u *gatehouse.User
	err := db.write(ctx, now, func(c *conn) error {
		tok, err := c.emailToken(ctx, hash, gatehouse.TokenVerifyEmail, c.d.forUpdate)
		if err != nil {
			return err
		}
		// The address must still be the one the user asks for: a link for
		// an address they have since replaced or removed does nothing.
		ok, err := c.execOne(ctx, `UPDATE users SET email = ?, email_key = ?, pending_email = NULL, updated_at = ?
			WHERE id = ? AND pending_email = ?`, tok.Email, emailKey(tok.Email), micros(c.now), tok.UserID, tok.Email)
		if isUniqueViolation(err) {
			return gatehouse.Errorf(gatehouse.EEMAILTAKEN, "another account uses this email address")
		} else if err != nil {
			return err
		} else if !ok {
			return errTokenNotFound()
		}
		if _, err := c.exec(ctx, `DELETE FROM email_tokens WHERE hash = ?`, hash); err != nil {
			return err
		}
		u, err = scanUser(c.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, tok.UserID))
		return err
	})
	if err != nil {
		return nil, db.wrap(ctx, "verify email", err)
	}
	return u, nil
}

// RemoveEmail clears both addresses and deletes the user's unused tokens.
func (db *DB) RemoveEmail(ctx context.Context, userID string, now time.Time) error {
	if !lookupable(userID) {
		return errUserNotFound()
	}
	err := db.write(ctx, now, func(c *conn) error {
		ok, err := c.execOne(ctx, `UPDATE users SET email = NULL, email_key = NULL, pending_email = NULL, updated_at = ?
			WHERE id = ?`, micros(c.now), userID)
		if err != nil {
			return err
		} else if !ok {
			return errUserNotFound()
		}
		_, err = c.exec(ctx, `DELETE FROM email_tokens WHERE user_id = ?`, userID)
		return err
	})
	return db.wrap(ctx, "remove email", err)
}

// UserByEmail looks a verified address up without regard to case.
func (db *DB) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	if !lookupable(email) {
		return nil, errUserNotFound()
	}
	u, err := scanUser(db.read().queryRow(ctx, `SELECT `+userCols+` FROM users WHERE email_key = ?`, emailKey(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	} else if err != nil {
		return nil, db.wrap(ctx, "user by email", err)
	}
	return u, nil
}

// EmailToken returns an unused, unexpired token without using it.
func (db *DB) EmailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*gatehouse.EmailToken, error) {
	if len(hash) != hashLen {
		return nil, errTokenNotFound()
	}
	c := db.read()
	c.now = now
	tok, err := c.emailToken(ctx, hash, purpose, "")
	if err != nil {
		return nil, db.wrap(ctx, "email token", err)
	}
	return tok, nil
}

// emailToken reads the unexpired token of that purpose (lock: forUpdate
// or ""); ENOTFOUND when there is none.
func (c *conn) emailToken(ctx context.Context, hash []byte, purpose, lock string) (*gatehouse.EmailToken, error) {
	t := &gatehouse.EmailToken{Hash: hash}
	err := c.queryRow(ctx, `SELECT purpose, user_id, email, created_at, expires_at FROM email_tokens
		WHERE hash = ? AND purpose = ? AND expires_at > ?`+lock, hash, purpose, micros(c.now)).
		Scan(&t.Purpose, &t.UserID, &t.Email, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errTokenNotFound()
	}
	return t, err
}

// ResetPassword uses a reset token: it is deleted with every other reset
// token of the user, the hash is set and every session revoked, in one
// transaction.
func (db *DB) ResetPassword(ctx context.Context, hash []byte, passwordHash string, now, until time.Time) (*gatehouse.User, []gatehouse.Revocation, error) {
	if len(hash) != hashLen {
		return nil, nil, errTokenNotFound()
	}
	var (
		u    *gatehouse.User
		revs []gatehouse.Revocation
	)
	err := db.write(ctx, now, func(c *conn) error {
		revs = nil
		tok, err := c.emailToken(ctx, hash, gatehouse.TokenResetPassword, c.d.forUpdate)
		if err != nil {
			return err
		}
		u, err = scanUser(c.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`+c.d.forUpdate, tok.UserID))
		if errors.Is(err, sql.ErrNoRows) {
			return errTokenNotFound()
		} else if err != nil {
			return err
		}
		if tok.Email != "" && !strings.EqualFold(tok.Email, u.Email) {
			return errTokenNotFound() // sent to an address the user no longer has
		}
		if _, err := c.exec(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?`,
			u.ID, gatehouse.TokenResetPassword); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			passwordHash, micros(c.now), u.ID); err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = passwordHash, stored(c.now)
		revs, err = c.revokeActive(ctx, u.ID, "", until)
		return err
	})
	if err != nil {
		return nil, nil, db.wrap(ctx, "reset password", err)
	}
	return u, revs, nil
}
