package sqldb

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Column limits of the audit trail: what the client sends about itself is
// cut to fit, like a session's.
const (
	maxAuditType   = 32
	maxAuditReason = 64
	maxUsername    = 64
	maxID          = 64
)

// defaultAuditLimit and maxAuditLimit bound one AuditEvents answer.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 10_000
)

// AppendAudit inserts events in order, in one transaction, and sets their
// IDs (and a missing Time: now). Text is cut to the column sizes as valid
// UTF-8 without NUL, so that what a client sent about itself cannot make
// the insert fail.
func (db *DB) AppendAudit(ctx context.Context, events []*gatehouse.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	now := db.now()
	err := db.write(ctx, now, func(c *conn) error {
		for _, e := range events {
			if err := c.insertAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return db.wrap(ctx, "append audit", err)
}

func (c *conn) insertAudit(ctx context.Context, e *gatehouse.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = c.now
	}
	e.Type, e.Reason = clip(e.Type, maxAuditType), clip(e.Reason, maxAuditReason)
	e.UserID, e.Username, e.SessionID = clip(e.UserID, maxID), clip(e.Username, maxUsername), clip(e.SessionID, maxID)
	e.IP, e.UserAgent = clip(e.IP, maxIP), clip(e.UserAgent, maxUserAgent)
	const q = `INSERT INTO audit_events (at, type, user_id, username, session_id, ip, user_agent, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{micros(e.Time), e.Type, e.UserID, e.Username, e.SessionID, e.IP, e.UserAgent, e.Reason}
	if c.d.returning {
		return c.queryRow(ctx, q+` RETURNING id`, args...).Scan(&e.ID)
	}
	res, err := c.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	e.ID, err = res.LastInsertId()
	return err
}

// AuditEvents returns the events f selects, newest first: at most f.Limit
// (100 when zero, never more than 10,000).
func (db *DB) AuditEvents(ctx context.Context, f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	var where []string
	var args []any
	if f.UserID != "" {
		if !lookupable(f.UserID) {
			return []*gatehouse.AuditEvent{}, nil
		}
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if len(f.Types) > 0 {
		where = append(where, "type IN (?"+strings.Repeat(", ?", len(f.Types)-1)+")")
		for _, t := range f.Types {
			args = append(args, clip(t, maxAuditType))
		}
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(f.Since))
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := `SELECT id, at, type, user_id, username, session_id, ip, user_agent, reason FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, min(limit, maxAuditLimit))
	return db.scanAudit(ctx, q, args)
}

func (db *DB) scanAudit(ctx context.Context, q string, args []any) ([]*gatehouse.AuditEvent, error) {
	rows, err := db.read().query(ctx, q, args...)
	if err != nil {
		return nil, db.wrap(ctx, "audit events", err)
	}
	defer rows.Close()
	events := []*gatehouse.AuditEvent{}
	for rows.Next() {
		e := &gatehouse.AuditEvent{}
		err := rows.Scan(&e.ID, timeCol{&e.Time}, &e.Type, &e.UserID, &e.Username, &e.SessionID, &e.IP, &e.UserAgent, &e.Reason)
		if err != nil {
			return nil, db.wrap(ctx, "audit events", err)
		}
		events = append(events, e)
	}
	return events, db.wrap(ctx, "audit events", rows.Err())
}

// DeleteAuditBefore removes the events older than t and returns how many
// went. Run every hour or so, each call deletes about an hour's events.
func (db *DB) DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, db.now(), func(c *conn) error {
		res, err := c.exec(ctx, `DELETE FROM audit_events WHERE at < ?`, micros(t))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, db.wrap(ctx, "delete audit", err)
}

// CountActiveSessions returns how many sessions are active at now (not
// revoked, not expired), for the active-sessions gauge. It reads the
// expires_at index; callers cache the answer rather than ask per request.
func (db *DB) CountActiveSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.read().queryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE expires_at > ? AND revoked_at IS NULL`,
		micros(now)).Scan(&n)
	return n, db.wrap(ctx, "count active sessions", err)
}
