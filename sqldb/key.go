package sqldb

import (
	"context"
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
