package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

// maxThrottleKey is the longest key the throttles table holds.
const maxThrottleKey = 128

var errThrottleKey = errors.New("throttle key is empty, longer than 128 bytes or not valid text")

func throttleKeyOK(key string) bool {
	return key != "" && len(key) <= maxThrottleKey && lookupable(key)
}

// Throttle returns the record under key; the zero Throttle when there is
// none. A read without a lock: TakeThrottle decides.
func (db *DB) Throttle(ctx context.Context, key string) (gatehouse.Throttle, error) {
	if !throttleKeyOK(key) {
		return gatehouse.Throttle{}, db.wrap(ctx, "throttle", errThrottleKey)
	}
	t, err := db.read().throttle(ctx, key, "")
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.Throttle{}, nil
	}
	return t, db.wrap(ctx, "throttle", err)
}

func (c *conn) throttle(ctx context.Context, key, lock string) (gatehouse.Throttle, error) {
	var t gatehouse.Throttle
	err := c.queryRow(ctx, `SELECT window_count, streak, window_end, forget_at FROM throttles
		WHERE throttle_key = ?`+lock, key).Scan(&t.Count, &t.Streak, timeCol{&t.WindowEnd}, timeCol{&t.ForgetAt})
	return t, err
}

// TakeThrottle applies gatehouse.Throttle.Take to the record under key in
// one transaction. The row is made first if missing (a no-op when it
// exists) and then read with a row lock, so concurrent takes on one key
// queue on that row and each sees the one before: no more succeed than
// the rule allows. On SQLite, write transactions are serial anyway.
func (db *DB) TakeThrottle(ctx context.Context, key string, now time.Time, r gatehouse.ThrottleRule) (t gatehouse.Throttle, ok bool, err error) {
	if !throttleKeyOK(key) {
		return t, false, db.wrap(ctx, "take throttle", errThrottleKey)
	}
	err = db.write(ctx, now, func(c *conn) error {
		_, err := c.exec(ctx, `INSERT INTO throttles (throttle_key, window_count, streak, window_end, forget_at)
			VALUES (?, 0, 0, 0, 0)`+c.d.ignoreDuplicate("throttle_key"), key)
		if err != nil {
			return err
		}
		cur, err := c.throttle(ctx, key, c.d.forUpdate)
		if err != nil {
			return err
		}
		if t, ok = cur.Take(now, r); !ok {
			return nil
		}
		_, err = c.exec(ctx, `UPDATE throttles SET window_count = ?, streak = ?, window_end = ?, forget_at = ?
			WHERE throttle_key = ?`, t.Count, t.Streak, micros(t.WindowEnd), micros(t.ForgetAt), key)
		return err
	})
	if err != nil {
		return gatehouse.Throttle{}, false, db.wrap(ctx, "take throttle", err)
	}
	t.WindowEnd, t.ForgetAt = stored(t.WindowEnd), stored(t.ForgetAt)
	return t, ok, nil
}

// ResetThrottle removes the record under key.
func (db *DB) ResetThrottle(ctx context.Context, key string) error {
	if !throttleKeyOK(key) {
		return db.wrap(ctx, "reset throttle", errThrottleKey)
	}
	err := db.write(ctx, db.now(), func(c *conn) error {
		_, err := c.exec(ctx, `DELETE FROM throttles WHERE throttle_key = ?`, key)
		return err
	})
	return db.wrap(ctx, "reset throttle", err)
}

// DeleteExpiredThrottles removes the records forgotten by now.
func (db *DB) DeleteExpiredThrottles(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, now, func(c *conn) error {
		res, err := c.exec(ctx, `DELETE FROM throttles WHERE forget_at <= ?`, micros(now))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, db.wrap(ctx, "delete expired throttles", err)
}
