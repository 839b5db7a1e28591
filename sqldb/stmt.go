package sqldb

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per query, for SQLite only:
// modernc's driver parses every query it is handed, and parsing took about
// a fifth of the CPU of a refresh and a logout (docs/PERFORMANCE.md).
// database/sql prepares a Stmt on each connection the first time it runs
// there and reuses it after, in transactions too (Tx.StmtContext). The
// other drivers need none: pgx caches prepared statements itself, and
// MySQL runs with interpolateParams, one round trip a query.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

// get returns query's statement, preparing it on first use. The pool must
// have a connection to spare for that first prepare while a transaction
// holds another, so Open makes a cache only for pools of two or more.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// stmt returns the prepared statement of query for c (bound to c's
// transaction if it has one), or nil when c runs queries unprepared.
func (c *conn) stmt(ctx context.Context, query string) *sql.Stmt {
	if c.stmts == nil {
		return nil
	}
	st, err := c.stmts.get(ctx, query)
	if err != nil {
		return nil // run it unprepared: the error, if real, shows there
	}
	if c.tx != nil {
		return c.tx.StmtContext(ctx, st)
	}
	return st
}
