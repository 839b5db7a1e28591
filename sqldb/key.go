package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

func errKeyNotFound() error { return gatehouse.Errorf(gatehouse.ENOTFOUND, "signing key not found") }

// SigningKeys returns every key, oldest first.
func (db *DB) SigningKeys(ctx context.Context) ([]*gatehouse.SigningKey, error) {
	rows, err := db.read().query(ctx, `SELECT id, algorithm, private_key, created_at, not_before, retire_at
		FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, db.wrap(ctx, "signing keys", err)
	}
	defer rows.Close()
	keys := []*gatehouse.SigningKey{}
	for rows.Next() {
		k := &gatehouse.SigningKey{}
		err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, timeCol{&k.CreatedAt}, timeCol{&k.NotBefore}, timeCol{&k.RetireAt})
		if err != nil {
			return nil, db.wrap(ctx, "signing keys", err)
		}
		keys = append(keys, k)
	}
	return keys, db.wrap(ctx, "signing keys", rows.Err())
}

// AddSigningKey inserts k. It sets a missing CreatedAt (now) and NotBefore
// (CreatedAt) on k.
func (db *DB) AddSigningKey(ctx context.Context, k *gatehouse.SigningKey) error {
	now := db.now()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now
	}
	if k.NotBefore.IsZero() {
		k.NotBefore = k.CreatedAt
	}
	err := db.write(ctx, now, func(c *conn) error {
		_, err := c.exec(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, created_at, not_before, retire_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Algorithm, k.Private, micros(k.CreatedAt), micros(k.NotBefore), nullMicros(k.RetireAt))
		return err
	})
	return db.wrap(ctx, "add signing key", err)
}

// RetireSigningKey sets the key's RetireAt; the zero time makes it current
// again. ENOTFOUND when there is no such key.
func (db *DB) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	if !lookupable(id) {
		return errKeyNotFound()
	}
	err := db.write(ctx, db.now(), func(c *conn) error {
		ok, err := c.execOne(ctx, `UPDATE signing_keys SET retire_at = ? WHERE id = ?`, nullMicros(at), id)
		if err == nil && !ok {
			return errKeyNotFound()
		}
		return err
	})
	return db.wrap(ctx, "retire signing key", err)
}

// DeleteSigningKey removes a key. ENOTFOUND when there is no such key.
func (db *DB) DeleteSigningKey(ctx context.Context, id string) error {
	if !lookupable(id) {
		return errKeyNotFound()
	}
	err := db.write(ctx, db.now(), func(c *conn) error {
		ok, err := c.execOne(ctx, `DELETE FROM signing_keys WHERE id = ?`, id)
		if err == nil && !ok {
			return errKeyNotFound()
		}
		return err
	})
	return db.wrap(ctx, "delete signing key", err)
}

// AddSigningKeyAfter inserts k as the successor of prev ("" for the first
// key) and sets prev's RetireAt to retire (unless zero or already earlier),
// in one transaction. The key_rotations row, keyed by prev, is inserted
// first: its primary key lets one of any number of concurrent calls with
// the same prev through; the others roll back on the unique violation and
// report added false. It sets a missing CreatedAt and NotBefore as
// AddSigningKey does.
func (db *DB) AddSigningKeyAfter(ctx context.Context, k *gatehouse.SigningKey, prev string, retire time.Time) (bool, error) {
	if !lookupable(prev) {
		return false, fmt.Errorf("sqldb: add signing key after %q: not a key id", prev)
	}
	now := db.now()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now
	}
	if k.NotBefore.IsZero() {
		k.NotBefore = k.CreatedAt
	}
	err := db.write(ctx, now, func(c *conn) error {
		if _, err := c.exec(ctx, `INSERT INTO key_rotations (predecessor, key_id, created_at) VALUES (?, ?, ?)`,
			prev, k.ID, micros(k.CreatedAt)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, created_at, not_before, retire_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Algorithm, k.Private, micros(k.CreatedAt), micros(k.NotBefore), nullMicros(k.RetireAt)); err != nil {
			return err
		}
		if prev == "" || retire.IsZero() {
			return nil
		}
		_, err := c.exec(ctx, `UPDATE signing_keys SET retire_at = ? WHERE id = ? AND (retire_at IS NULL OR retire_at > ?)`,
			micros(retire), prev, micros(retire))
		return err
	})
	if isUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, db.wrap(ctx, "add signing key after", err)
	}
	return true, nil
}
