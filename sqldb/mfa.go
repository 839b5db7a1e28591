package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The second factors (gatehouse.MFAStore): the mfa_totp,
// mfa_recovery_codes and login_challenges tables of migration 0006.

// amrText is a session's AMR as stored: the values separated by spaces.
func amrText(amr []string) string { return clip(strings.Join(amr, " "), 64) }

// amrCol scans a stored AMR; "" (sessions from before 0006) gives nil.
type amrCol struct{ amr *[]string }

// Scan implements sql.Scanner.
func (c amrCol) Scan(src any) error {
	var s sql.NullString
	if err := s.Scan(src); err != nil {
		return err
	}
	*c.amr = nil
	if f := strings.Fields(s.String); len(f) > 0 {
		*c.amr = f
	}
	return nil
}

var _ sql.Scanner = amrCol{}

func errNoFactor() error    { return gatehouse.Errorf(gatehouse.ENOTFOUND, "no such factor") }
func errNoChallenge() error { return gatehouse.Errorf(gatehouse.ENOTFOUND, "no such challenge") }

// TOTPFactor returns the user's TOTP factor. ENOTFOUND when there is none.
func (db *DB) TOTPFactor(ctx context.Context, userID string) (*gatehouse.TOTPFactor, error) {
	if !lookupable(userID) {
		return nil, errNoFactor()
	}
	f := &gatehouse.TOTPFactor{UserID: userID}
	err := db.read().queryRow(ctx, `SELECT secret, created_at, confirmed_at, last_step FROM mfa_totp WHERE user_id = ?`, userID).
		Scan(&f.Secret, timeCol{&f.CreatedAt}, timeCol{&f.ConfirmedAt}, &f.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoFactor()
	} else if err != nil {
		return nil, db.wrap(ctx, "totp factor", err)
	}
	return f, nil
}

// PutPendingTOTP stores f as the user's pending factor. The row is made
// if missing (a no-op when it exists) and then replaced only while it is
// pending, so that of two concurrent calls neither can overwrite a factor
// confirmed in between.
func (db *DB) PutPendingTOTP(ctx context.Context, f *gatehouse.TOTPFactor) (bool, error) {
	if !lookupable(f.UserID) {
		return false, errUserNotFound()
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = db.now()
	}
	var ok bool
	err := db.write(ctx, f.CreatedAt, func(c *conn) error {
		_, err := c.exec(ctx, `INSERT INTO mfa_totp (user_id, secret, created_at, confirmed_at, last_step)
			VALUES (?, ?, ?, NULL, 0)`+c.d.ignoreDuplicate("user_id"), f.UserID, f.Secret, micros(f.CreatedAt))
		if isForeignKeyViolation(err) {
			return errUserNotFound()
		} else if err != nil {
			return err
		}
		ok, err = c.execOne(ctx, `UPDATE mfa_totp SET secret = ?, created_at = ?, last_step = 0
			WHERE user_id = ? AND confirmed_at IS NULL`, f.Secret, micros(f.CreatedAt), f.UserID)
		return err
	})
	return ok, db.wrap(ctx, "put pending totp", err)
}

// ConfirmTOTP makes the pending factor count and replaces the recovery
// codes, in one transaction.
func (db *DB) ConfirmTOTP(ctx context.Context, userID string, step int64, codeHashes [][]byte, now time.Time) (bool, error) {
	if !lookupable(userID) {
		return false, nil
	}
	var ok bool
	err := db.write(ctx, now, func(c *conn) (err error) {
		ok, err = c.execOne(ctx, `UPDATE mfa_totp SET confirmed_at = ?, last_step = ?
			WHERE user_id = ? AND confirmed_at IS NULL AND last_step < ?`, micros(now), step, userID, step)
		if err != nil || !ok {
			return err
		}
		return c.replaceRecoveryCodes(ctx, userID, codeHashes)
	})
	return ok, db.wrap(ctx, "confirm totp", err)
}

// UseTOTPStep is a compare-and-set on last_step: the condition is in the
// UPDATE, so two instances cannot both accept one code.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	if !lookupable(userID) {
		return false, nil
	}
	var ok bool
	err := db.write(ctx, db.now(), func(c *conn) (err error) {
		ok, err = c.execOne(ctx, `UPDATE mfa_totp SET last_step = ?
			WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`, step, userID, step)
		return err
	})
	return ok, db.wrap(ctx, "use totp step", err)
}

// DeleteTOTP removes the factor and the recovery codes.
func (db *DB) DeleteTOTP(ctx context.Context, userID string) (bool, error) {
	if !lookupable(userID) {
		return false, nil
	}
	var ok bool
	err := db.write(ctx, db.now(), func(c *conn) (err error) {
		if ok, err = c.execOne(ctx, `DELETE FROM mfa_totp WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err = c.exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID)
		return err
	})
	return ok, db.wrap(ctx, "delete totp", err)
}

// ReplaceRecoveryCodes replaces the user's recovery codes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes [][]byte, now time.Time) error {
	if !lookupable(userID) {
		return errUserNotFound()
	}
	err := db.write(ctx, now, func(c *conn) error { return c.replaceRecoveryCodes(ctx, userID, codeHashes) })
	return db.wrap(ctx, "replace recovery codes", err)
}

func (c *conn) replaceRecoveryCodes(ctx context.Context, userID string, codeHashes [][]byte) error {
	if _, err := c.exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range codeHashes {
		if len(h) != hashLen {
			return fmt.Errorf("recovery code hash has %d bytes, want %d", len(h), hashLen)
		}
		_, err := c.exec(ctx, `INSERT INTO mfa_recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)`,
			userID, h, micros(c.now))
		if isForeignKeyViolation(err) {
			return errUserNotFound()
		} else if err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode deletes the code: the DELETE decides, so a code is used
// once however many requests present it at the same moment.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	if !lookupable(userID) || len(hash) != hashLen {
		return false, nil
	}
	var ok bool
	err := db.write(ctx, db.now(), func(c *conn) (err error) {
		ok, err = c.execOne(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash)
		return err
	})
	return ok, db.wrap(ctx, "use recovery code", err)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if !lookupable(userID) {
		return 0, nil
	}
	var n int
	err := db.read().queryRow(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ?`, userID).Scan(&n)
	return n, db.wrap(ctx, "recovery codes left", err)
}

// CreateLoginChallenge inserts ch, cutting UserAgent and IP as sessions do.
func (db *DB) CreateLoginChallenge(ctx context.Context, ch *gatehouse.LoginChallenge) error {
	if len(ch.Hash) != hashLen {
		return fmt.Errorf("sqldb: create login challenge: hash has %d bytes, want %d", len(ch.Hash), hashLen)
	}
	if !lookupable(ch.UserID) {
		return errUserNotFound()
	}
	ch.UserAgent, ch.IP = clip(ch.UserAgent, maxUserAgent), clip(ch.IP, maxIP)
	err := db.write(ctx, db.now(), func(c *conn) error {
		_, err := c.exec(ctx, `INSERT INTO login_challenges
			(hash, user_id, created_at, expires_at, attempts, user_agent, ip) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ch.Hash, ch.UserID, micros(ch.CreatedAt), micros(ch.ExpiresAt), ch.Attempts, ch.UserAgent, ch.IP)
		if isForeignKeyViolation(err) {
			return errUserNotFound()
		}
		return err
	})
	return db.wrap(ctx, "create login challenge", err)
}

// TakeLoginChallenge reads the challenge with a row lock and deletes it in
// the same transaction; a second caller waits on the lock and then finds
// nothing. An expired challenge is not returned (DeleteExpired removes it).
func (db *DB) TakeLoginChallenge(ctx context.Context, hash []byte, now time.Time) (*gatehouse.LoginChallenge, error) {
	if len(hash) != hashLen {
		return nil, errNoChallenge()
	}
	var ch *gatehouse.LoginChallenge
	err := db.write(ctx, now, func(c *conn) error {
		ch = &gatehouse.LoginChallenge{Hash: hash}
		err := c.queryRow(ctx, `SELECT user_id, created_at, expires_at, attempts, user_agent, ip
			FROM login_challenges WHERE hash = ?`+c.d.forUpdate, hash).
			Scan(&ch.UserID, timeCol{&ch.CreatedAt}, timeCol{&ch.ExpiresAt}, &ch.Attempts, &ch.UserAgent, &ch.IP)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoChallenge()
		} else if err != nil {
			return err
		}
		ok, err := c.execOne(ctx, `DELETE FROM login_challenges WHERE hash = ?`, hash)
		if err != nil {
			return err
		} else if !ok || !now.Before(ch.ExpiresAt) {
			return errNoChallenge()
		}
		return nil
	})
	if err != nil {
		return nil, db.wrap(ctx, "take login challenge", err)
	}
	return ch, nil
}
