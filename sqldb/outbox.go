package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// QueueMail inserts tok (unless nil) and the mails in one transaction.
func (db *DB) QueueMail(ctx context.Context, tok *gatehouse.EmailToken, mails ...*gatehouse.Mail) error {
	err := db.write(ctx, db.now(), func(c *conn) error { return c.queueMail(ctx, tok, mails, db.now()) })
	return db.wrap(ctx, "queue mail", err)
}

// queueMail inserts tok (unless nil) and the mails. A mail without a
// CreatedAt is made at mailNow, the store's clock, which is also the one
// the senders claim by: a caller with a clock of its own (a test's) must
// not delay the sending.
func (c *conn) queueMail(ctx context.Context, tok *gatehouse.EmailToken, mails []*gatehouse.Mail, mailNow time.Time) error {
	if tok != nil {
		if len(tok.Hash) != hashLen {
			return fmt.Errorf("token hash has %d bytes, want %d", len(tok.Hash), hashLen)
		}
		_, err := c.exec(ctx, `INSERT INTO email_tokens (hash, purpose, user_id, email, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, tok.Hash, tok.Purpose, tok.UserID, tok.Email, micros(tok.CreatedAt), micros(tok.ExpiresAt))
		if isForeignKeyViolation(err) {
			return errUserNotFound()
		} else if err != nil {
			return err
		}
	}
	for _, m := range mails {
		if m.CreatedAt.IsZero() {
			m.CreatedAt = mailNow
		}
		if m.NextAttempt.IsZero() {
			m.NextAttempt = m.CreatedAt
		}
		m.CreatedAt, m.NextAttempt = stored(m.CreatedAt), stored(m.NextAttempt)
		const q = `INSERT INTO mail_outbox (recipient, subject, body_text, body_html, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?)`
		args := []any{m.To, m.Subject, m.Text, m.HTML, micros(m.CreatedAt), micros(m.NextAttempt)}
		if c.d.returning {
			if err := c.queryRow(ctx, q+` RETURNING id`, args...).Scan(&m.ID); err != nil {
				return err
			}
			continue
		}
		res, err := c.exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if m.ID, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

// ClaimMail picks due mails and claims each with a conditional update:
// the update matches only while nobody holds the row, so of concurrent
// claimers on any instance one at most gets it. It needs no row locks or
// SKIP LOCKED, and reads the same on every dialect.
func (db *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*gatehouse.Mail, error) {
	rows, err := db.read().query(ctx, `SELECT id FROM mail_outbox
		WHERE next_attempt_at <= ? AND claimed_until <= ? AND sent_at IS NULL AND failed_at IS NULL
		ORDER BY next_attempt_at, id LIMIT ?`, micros(now), micros(now), limit)
	if err != nil {
		return nil, db.wrap(ctx, "claim mail", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, db.wrap(ctx, "claim mail", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, "claim mail", err)
	}
	var out []*gatehouse.Mail
	for _, id := range ids {
		var m *gatehouse.Mail
		err := db.write(ctx, now, func(c *conn) error {
			m = nil
			ok, err := c.execOne(ctx, `UPDATE mail_outbox SET claimed_until = ?
				WHERE id = ? AND claimed_until <= ? AND sent_at IS NULL AND failed_at IS NULL`,
				micros(now.Add(lease)), id, micros(now))
			if err != nil || !ok {
				return err
			}
			m = &gatehouse.Mail{ID: id}
			return c.queryRow(ctx, `SELECT recipient, subject, body_text, body_html, created_at, attempts, next_attempt_at, last_error
				FROM mail_outbox WHERE id = ?`, id).Scan(&m.To, &m.Subject, &m.Text, &m.HTML,
				timeCol{&m.CreatedAt}, &m.Attempts, timeCol{&m.NextAttempt}, &m.LastError)
		})
		if err != nil {
			return out, db.wrap(ctx, "claim mail", err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// MailSent marks a mail sent and blanks its body: the text may hold a
// link that must not outlive its use in the database.
func (db *DB) MailSent(ctx context.Context, id int64, now time.Time) error {
	err := db.write(ctx, now, func(c *conn) error {
		_, err := c.exec(ctx, `UPDATE mail_outbox SET sent_at = ?, body_text = '', body_html = '', claimed_until = 0, last_error = ''
			WHERE id = ?`, micros(now), id)
		return err
	})
	return db.wrap(ctx, "mail sent", err)
}

// maxMailError is the longest last_error kept.
const maxMailError = 512

// MailFailed records a failed attempt, or gives the mail up.
func (db *DB) MailFailed(ctx context.Context, id int64, now time.Time, reason string, next time.Time, giveUp bool) error {
	reason = clip(reason, maxMailError)
	err := db.write(ctx, now, func(c *conn) error {
		if giveUp {
			_, err := c.exec(ctx, `UPDATE mail_outbox SET failed_at = ?, attempts = attempts + 1, last_error = ?,
				body_text = '', body_html = '', claimed_until = 0 WHERE id = ?`, micros(now), reason, id)
			return err
		}
		_, err := c.exec(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
			claimed_until = 0 WHERE id = ?`, reason, micros(next), id)
		return err
	})
	return db.wrap(ctx, "mail failed", err)
}

// DeleteExpiredEmail removes expired tokens and mails done before keepDone.
// Like DeleteExpired, each statement commits on its own.
func (db *DB) DeleteExpiredEmail(ctx context.Context, now, keepDone time.Time) (int64, error) {
	return db.deleteEach(ctx, now, "delete expired email", []deletion{
		{`DELETE FROM email_tokens WHERE expires_at <= ?`, []any{micros(now)}},
		{`DELETE FROM mail_outbox WHERE sent_at < ? OR failed_at < ?`, []any{micros(keepDone), micros(keepDone)}},
	})
}
