package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

func errPasskeyNotFound() error { return gatehouse.Errorf(gatehouse.ENOTFOUND, "passkey not found") }

func errCeremonyNotFound() error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, "ceremony not found, used or expired")
}

const passkeyCols = `id, user_id, credential_id, public_key, sign_count, transports, aaguid, flags,
	attestation_format, name, created_at, last_used_at`

// AddPasskey inserts p. It sets a missing ID (a new gatehouse.NewID) and
// CreatedAt (now). EINVALIDPASSKEY when the credential id is registered
// already, for this user or another.
func (db *DB) AddPasskey(ctx context.Context, p *gatehouse.Passkey) error {
	now := db.now()
	if p.ID == "" {
		p.ID = gatehouse.NewID(now)
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	err := db.write(ctx, now, func(c *conn) error {
		_, err := c.exec(ctx, `INSERT INTO passkeys (`+passkeyCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.CredentialID, p.PublicKey, int64(p.SignCount), strings.Join(p.Transports, ","),
			nonNil(p.AAGUID), int(p.Flags), p.AttestationFormat, p.Name, micros(p.CreatedAt), nullMicros(p.LastUsedAt))
		switch {
		case isUniqueViolation(err):
			return gatehouse.Errorf(gatehouse.EINVALIDPASSKEY, "this passkey is registered already")
		case isForeignKeyViolation(err):
			return errUserNotFound()
		}
		return err
	})
	return db.wrap(ctx, "add passkey", err)
}

// nonNil makes a nil slice an empty one, for NOT NULL byte columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Passkeys returns the user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*gatehouse.Passkey, error) {
	out := []*gatehouse.Passkey{}
	if !lookupable(userID) {
		return out, nil
	}
	rows, err := db.read().query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, db.wrap(ctx, "passkeys", err)
	}
	defer rows.Close()
	for rows.Next() {
		p := &gatehouse.Passkey{}
		var count int64
		var flags int
		var transports string
		err := rows.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &count, &transports, &p.AAGUID, &flags,
			&p.AttestationFormat, &p.Name, timeCol{&p.CreatedAt}, timeCol{&p.LastUsedAt})
		if err != nil {
			return nil, db.wrap(ctx, "passkeys", err)
		}
		p.SignCount, p.Flags = uint32(count), byte(flags)
		if transports != "" {
			p.Transports = strings.Split(transports, ",")
		}
		out = append(out, p)
	}
	return out, db.wrap(ctx, "passkeys", rows.Err())
}

// RenamePasskey sets the name of the user's passkey id.
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return db.passkeyOne(ctx, "rename passkey", userID, id,
		`UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
}

// DeletePasskey removes the user's passkey id.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	return db.passkeyOne(ctx, "delete passkey", userID, id,
		`DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
}

// UsePasskey moves the sign count of the user's passkey id from old to
// count and sets its last use, only while the stored count is still old.
func (db *DB) UsePasskey(ctx context.Context, userID, id string, old, count uint32, now time.Time) error {
	return db.passkeyOne(ctx, "use passkey", userID, id,
		`UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ? AND user_id = ? AND sign_count = ?`,
		int64(count), micros(now), id, userID, int64(old))
}

// passkeyOne runs a write that must match exactly one passkey of the user;
// ENOTFOUND when it matches none (MySQL is opened with clientFoundRows, so
// a rename to the same name matches too).
func (db *DB) passkeyOne(ctx context.Context, op, userID, id, query string, args ...any) error {
	if !lookupable(userID) || !lookupable(id) {
		return errPasskeyNotFound()
	}
	err := db.write(ctx, db.now(), func(c *conn) error {
		ok, err := c.execOne(ctx, query, args...)
		if err == nil && !ok {
			return errPasskeyNotFound()
		}
		return err
	})
	return db.wrap(ctx, op, err)
}

// PutCeremony stores c and drops the ceremonies that expired before now,
// so that abandoned ones do not pile up without a chore of their own.
func (db *DB) PutCeremony(ctx context.Context, cer *gatehouse.WebAuthnCeremony, now time.Time) error {
	err := db.write(ctx, now, func(c *conn) error {
		if _, err := c.exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at <= ?`, micros(now)); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO webauthn_ceremonies (challenge_hash, user_id, kind, binding, data, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			cer.ChallengeHash, cer.UserID, cer.Kind, cer.Binding, cer.Data, micros(cer.ExpiresAt))
		if isForeignKeyViolation(err) {
			return errUserNotFound()
		}
		return err
	})
	return db.wrap(ctx, "put ceremony", err)
}

// TakeCeremony deletes the ceremony and returns it. The DELETE decides:
// of concurrent takes, only the one whose DELETE removed the row gets it.
func (db *DB) TakeCeremony(ctx context.Context, challengeHash []byte, now time.Time) (*gatehouse.WebAuthnCeremony, error) {
	var cer *gatehouse.WebAuthnCeremony
	err := db.write(ctx, now, func(c *conn) error {
		cer = &gatehouse.WebAuthnCeremony{ChallengeHash: challengeHash}
		err := c.queryRow(ctx, `SELECT user_id, kind, binding, data, expires_at FROM webauthn_ceremonies
			WHERE challenge_hash = ?`+c.d.forUpdate, challengeHash).
			Scan(&cer.UserID, &cer.Kind, &cer.Binding, &cer.Data, timeCol{&cer.ExpiresAt})
		if errors.Is(err, sql.ErrNoRows) {
			return errCeremonyNotFound()
		} else if err != nil {
			return err
		}
		ok, err := c.execOne(ctx, `DELETE FROM webauthn_ceremonies WHERE challenge_hash = ?`, challengeHash)
		if err != nil {
			return err
		} else if !ok || !now.Before(cer.ExpiresAt) {
			return errCeremonyNotFound()
		}
		return nil
	})
	if err != nil {
		return nil, db.wrap(ctx, "take ceremony", err)
	}
	return cer, nil
}
