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
	return db.retry(ctx, func() error { return db.tryWrite(ctx, now, fn) })
}

// writeOne runs fn, which makes exactly one write statement, in autocommit:
// without BEGIN and COMMIT, which on SQLite cost as much as the statement
// (docs/PERFORMANCE.md). One statement is atomic on its own; on SQLite it
// takes the write lock when it starts (so it never meets a conflict half-way)
// and waits its turn on the process's write mutex like a transaction. It is
// retried like write.
func (db *DB) writeOne(ctx context.Context, now time.Time, fn func(c *conn) error) error {
	return db.retry(ctx, func() error {
		unlock, err := db.lockWrites(ctx)
		if err != nil {
			return err
		}
		defer unlock()
		return fn(&conn{q: db.sql, d: db.d, now: now, stmts: db.stmts})
	})
}

// retry runs try until it succeeds, fails for a reason other than a
// conflict, or has failed maxAttempts times.
func (db *DB) retry(ctx context.Context, try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
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

// lockWrites takes the process's SQLite write mutex, if there is one.
func (db *DB) lockWrites(ctx context.Context) (unlock func(), err error) {
	if db.writes == nil {
		return func() {}, nil
	}
	select {
	case db.writes <- struct{}{}:
		return func() { <-db.writes }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (db *DB) tryWrite(ctx context.Context, now time.Time, fn func(c *conn) error) (err error) {
	unlock, err := db.lockWrites(ctx)
	if err != nil {
		return err
	}
	defer unlock()
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
