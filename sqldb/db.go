// Package sqldb is the only SQL in gatehouse: one implementation of
// gatehouse.Store over database/sql for SQLite (modernc.org/sqlite, pure Go),
// MySQL/MariaDB (github.com/go-sql-driver/mysql) and PostgreSQL (pgx).
//
// Each query is written once, with ? placeholders, beside the function that
// runs it; dialect.go holds the few differences. The schema lives in
// embedded migrations/{sqlite,mysql,postgres}/NNNN_name.sql files that
// Migrate applies.
//
// Times are stored as BIGINT unix microseconds in UTC, so a time read back
// is in UTC and truncated to the microsecond.
//
// Errors: ENOTFOUND, EUSERNAMETAKEN and EUNAVAILABLE are *gatehouse.Error
// values; every other failure is wrapped with the operation's name and is
// internal. A database that cannot be reached (down, refusing, connection
// cut, query timed out) gives EUNAVAILABLE, whose cause stays in the chain
// for the log but never reaches the client.
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

var _ gatehouse.Store = (*DB)(nil)

// DB is a gatehouse.Store over one database. It is safe for concurrent use.
type DB struct {
	sql *sql.DB
	d   *dialect
	// writes, for SQLite, lets one write transaction of this process at a
	// time in; nil for the other dialects.
	writes  chan struct{}
	stmts   *stmtCache // SQLite with a pool of two or more; else nil
	now     func() time.Time
	onError func(op, code string)
}

// Options tunes the connection pool. A zero field takes the dialect's
// default:
//
//   - PostgreSQL and MySQL: MaxOpenConns 20, MaxIdleConns 10,
//     ConnMaxLifetime 5 minutes (so that connections follow a failover and
//     a server's idle timeout never kills one in use).
//   - SQLite file: MaxOpenConns 8 readers (writers queue for one lock
//     anyway), MaxIdleConns equal to it, no lifetime: a connection to a
//     local file does not go stale and each new one re-runs the pragmas.
//   - SQLite ":memory:": exactly one connection that is never closed,
//     because each connection would be a database of its own.
type Options struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration

	// OnError, if set, is called with the operation's name and the code
	// (EUNAVAILABLE or EINTERNAL) of every failure of the database itself;
	// the expected answers (ENOTFOUND, EUSERNAMETAKEN…) are not failures.
	// It feeds the store-errors metric; it must be quick.
	OnError func(op, code string)
}

// Open parses url, configures the connection pool and returns the store.
// It does not migrate. The forms of url:
//
//	sqlite:PATH, sqlite://PATH, sqlite::memory:   (extra modernc DSN
//	                                               options after a ?)
//	postgres://… or postgresql://…                 (any pgx URL)
//	mysql://user:pass@host:port/db?tls=true&…      (go-sql-driver options)
//
// An SQLite file is opened at once, so that a bad path fails here. A
// server is not contacted: a database that is down at start shows as
// EUNAVAILABLE from Ping and the queries, and the pool connects when it
// comes back.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	scheme, rest, ok := strings.Cut(url, ":")
	if !ok {
		return nil, errors.New("sqldb: database url has no scheme (sqlite:, postgres:// or mysql://)")
	}
	var (
		sdb  *sql.DB
		name string
		err  error
	)
	switch strings.ToLower(scheme) {
	case "sqlite":
		name = dialectSQLite
		sdb, opts, err = openSQLite(rest, opts)
	case "postgres", "postgresql":
		name = dialectPostgres
		sdb, err = openPostgres(url)
		opts = opts.withServerDefaults()
	case "mysql":
		name = dialectMySQL
		sdb, err = openMySQL(url)
		opts = opts.withServerDefaults()
	default:
		return nil, fmt.Errorf("sqldb: unsupported database url scheme %q", scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", name, err)
	}
	sdb.SetMaxOpenConns(opts.MaxOpenConns)
	sdb.SetMaxIdleConns(opts.MaxIdleConns)
	sdb.SetConnMaxLifetime(opts.ConnMaxLifetime)
	db := &DB{sql: sdb, d: newDialect(name), now: now, onError: opts.OnError}
	if db.d.serialWrites {
		db.writes = make(chan struct{}, 1)
	}
	if name == dialectSQLite && opts.MaxOpenConns >= 2 {
		db.stmts = &stmtCache{db: sdb}
	}
	if name == dialectSQLite {
		if err := sdb.PingContext(ctx); err != nil {
			sdb.Close()
			return nil, fmt.Errorf("sqldb: open sqlite: %w", err)
		}
	}
	return db, nil
}

func (o Options) withServerDefaults() Options {
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = 20
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = 10
	}
	if o.ConnMaxLifetime == 0 {
		o.ConnMaxLifetime = 5 * time.Minute
	}
	return o
}

// now is the store's clock for the rows whose time the caller does not
// give. It is truncated to the stored precision so that what a method sets
// on its argument is what a later read returns.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Dialect returns "sqlite", "mysql" or "postgres".
func (db *DB) Dialect() string { return db.d.name }

// Ping reports whether the store answers; EUNAVAILABLE when it does not.
func (db *DB) Ping(ctx context.Context) error {
	return db.wrap(ctx, "ping", db.sql.PingContext(ctx))
}

// Close closes every connection of the pool.
func (db *DB) Close() error { return db.sql.Close() }

// SQL returns the underlying pool, for administration and tests (creating
// a database, seeding). The store's own queries never need it.
func (db *DB) SQL() *sql.DB { return db.sql }

// wrap gives err the name of the operation. An error that means the
// database cannot be reached also gets the code EUNAVAILABLE; the driver's
// error stays in the chain (%w) for the log, the client sees only "store
// unavailable". A *gatehouse.Error made by the method itself passes as is.
func (db *DB) wrap(ctx context.Context, op string, err error) error {
	var e *gatehouse.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up (a client that went away): not the store's
		// failure, so not counted as one.
		return fmt.Errorf("sqldb: %s: %w", op, err)
	case isUnavailable(err), errors.Is(ctx.Err(), context.DeadlineExceeded):
		db.failed(op, gatehouse.EUNAVAILABLE)
		return fmt.Errorf("sqldb: %s: %w: %w", op, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "store unavailable"), err)
	}
	db.failed(op, gatehouse.EINTERNAL)
	return fmt.Errorf("sqldb: %s: %w", op, err)
}

func (db *DB) failed(op, code string) {
	if db.onError != nil {
		db.onError(op, code)
	}
}
