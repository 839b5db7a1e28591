package sqldb

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"time"
)

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs the package's queries, rebound for the dialect, on the pool or
// in a transaction. now is the time of the work: every row a transaction
// writes carries the same now.
type conn struct {
	q   querier
	d   *dialect
	now time.Time

	stmts *stmtCache // nil: queries run unprepared
	tx    *sql.Tx    // q as a transaction, for binding prepared statements
}

func (c *conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, c.d.rebind(query), args...)
}

func (c *conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, c.d.rebind(query), args...)
}

func (c *conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, c.d.rebind(query), args...)
}

// execOne runs an UPDATE or DELETE and reports whether it matched exactly
// one row.
func (c *conn) execOne(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// read returns a conn on the pool, for reads that need no transaction.
func (db *DB) read() *conn { return &conn{q: db.sql, d: db.d, stmts: db.stmts} }

// maxAttempts bounds how often write runs a transaction that the database
// rolled back for a conflict.
const maxAttempts = 5

// write runs fn in a transaction whose time is now and commits it. When the
// database rolls the transaction back for a deadlock, a serialization
// failure or a busy SQLite file, write runs fn again, a few times, after a
// short random pause; fn must therefore set its results afresh on every
// call. fn's error, or the last conflict, is returned as is.
func (db *DB) write(ctx context.Context, now time.Time, fn func(c *conn) error) error {
	for attempt := 1; ; attempt++ {
		err := db.tryWrite(ctx, now, fn)
		if err == nil || attempt == maxAttempts || !isRetryable(err) {
			return err
		}
		pause := time.Duration(attempt)*2*time.Millisecond + rand.N(5*time.Millisecond)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (db *DB) tryWrite(ctx context.Context, now time.Time, fn func(c *conn) error) (err error) {
	if db.writes != nil {
		select {
		case db.writes <- struct{}{}:
			defer func() { <-db.writes }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tx, err := db.sql.BeginTx(ctx, db.d.txOpts)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(&conn{q: tx, d: db.d, now: now, stmts: db.stmts, tx: tx}); err != nil {
		return err
	}
	return tx.Commit()
}
