package sqldb

import (
	"context"
	"crypto/tls"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The dialect names Dialect reports.
const (
	dialectSQLite   = "sqlite"
	dialectMySQL    = "mysql"
	dialectPostgres = "postgres"
)

// dialect holds the few things that differ between SQLite, MySQL/MariaDB and
// PostgreSQL. Every query in the package is written once, with ? placeholders,
// and goes through rebind on its way to the driver.
type dialect struct {
	name string
	// dollar: placeholders are $1, $2, … (PostgreSQL).
	dollar bool
	// forUpdate ends a SELECT that locks the rows it reads. SQLite has no row
	// locks; its write transactions are BEGIN IMMEDIATE, so writers queue.
	forUpdate string
	// returning: INSERT … RETURNING gives the new revocation seq; else
	// sql.Result.LastInsertId does.
	returning bool
	// updateReturning: UPDATE … RETURNING gives the updated row (SQLite,
	// PostgreSQL; MariaDB has no such thing, MySQL neither).
	updateReturning bool
	// serialWrites: one write transaction at a time inside the process
	// (SQLite), so that writers wait in a queue instead of polling the file
	// lock under busy_timeout.
	serialWrites bool
	// txOpts for write transactions. MySQL's default REPEATABLE READ takes gap
	// locks that make deadlocks likelier; READ COMMITTED is PostgreSQL's
	// default anyway.
	txOpts *sql.TxOptions

	rebound sync.Map // query → query with $n placeholders
}

func newDialect(name string) *dialect {
	d := &dialect{name: name, forUpdate: " FOR UPDATE"}
	switch name {
	case dialectSQLite:
		d.forUpdate = ""
		d.serialWrites = true
		d.updateReturning = true
	case dialectMySQL:
		d.txOpts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	case dialectPostgres:
		d.dollar = true
		d.returning = true
		d.updateReturning = true
	}
	return d
}

// rebind turns the ? placeholders of query into $1, $2, … for PostgreSQL.
// Queries are package constants, so the cache is small and each query is
// rebound once per process.
func (d *dialect) rebind(query string) string {
	if !d.dollar {
		return query
	}
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	q := b.String()
	d.rebound.Store(query, q)
	return q
}

// ignoreDuplicate ends an INSERT so that a row whose unique key col
// already exists is left as it is, without an error.
func (d *dialect) ignoreDuplicate(col string) string {
	if d.name == dialectMySQL {
		return " ON DUPLICATE KEY UPDATE " + col + " = " + col
	}
	return " ON CONFLICT (" + col + ") DO NOTHING"
}

// isUniqueViolation reports whether err is a unique or primary key violation,
// by the driver's error code: SQLite extended codes 2067 and 1555, MySQL
// 1062, PostgreSQL SQLSTATE 23505.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	var me *mysql.MySQLError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &se):
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	case errors.As(err, &me):
		return me.Number == 1062 // ER_DUP_ENTRY
	case errors.As(err, &pe):
		return pe.Code == "23505" // unique_violation
	}
	return false
}

// isForeignKeyViolation reports whether err is an insert that names a parent
// row that does not exist: SQLite 787, MySQL 1452, PostgreSQL 23503.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	var me *mysql.MySQLError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &se):
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	case errors.As(err, &me):
		return me.Number == 1452 // ER_NO_REFERENCED_ROW_2
	case errors.As(err, &pe):
		return pe.Code == "23503" // foreign_key_violation
	}
	return false
}

// isRetryable reports whether the database rolled the transaction back so
// that it may simply be run again: a deadlock or serialization failure, or
// an SQLite file still locked after busy_timeout.
func isRetryable(err error) bool {
	var se *sqlite.Error
	var me *mysql.MySQLError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &se):
		c := se.Code() & 0xff // primary code: BUSY_SNAPSHOT etc. are BUSY too
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	case errors.As(err, &me):
		return me.Number == 1213 // ER_LOCK_DEADLOCK
	case errors.As(err, &pe):
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	return false
}

// isUnavailable reports whether err means the database cannot be reached or
// cannot take the work now (down, refusing connections, connection cut,
// overloaded, query timed out), rather than that the query was wrong. Those
// errors become EUNAVAILABLE: a 503 the client may retry.
func isUnavailable(err error) bool {
	if isRefusal(err) {
		return false
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &ne), errors.As(err, &ce), pgconn.Timeout(err):
		return true
	}
	return unavailableCode(err)
}

// isRefusal reports whether the server could be reached but refused the
// connection: a wrong password, an unknown user or database, no
// pg_hba.conf entry, a certificate that does not verify. PostgreSQL
// reports those inside a connection error, yet they are a configuration
// to fix, not an outage to wait out, so they are not EUNAVAILABLE (and
// gatehouse stops instead of retrying at start).
func isRefusal(err error) bool {
	var pe *pgconn.PgError
	var me *mysql.MySQLError
	var ce *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ce), errors.Is(err, mysql.ErrNoTLS):
		return true
	case errors.As(err, &pe):
		return strings.HasPrefix(pe.Code, "28") || pe.Code == "3D000" // invalid authorization, invalid catalog name
	case errors.As(err, &me):
		return me.Number == 1044 || me.Number == 1045 || me.Number == 1049 // access denied (db, user), unknown database
	}
	return false
}

// unavailableCode reports the driver error codes that mean "not now": too
// many connections, shutting down, lock or statement timeouts, and the
// retryable conflicts once retries are exhausted.
func unavailableCode(err error) bool {
	var se *sqlite.Error
	var me *mysql.MySQLError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &se):
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL:
			return true
		}
	case errors.As(err, &me):
		switch me.Number {
		case 1040, 1053, 1205, 1213, 1927, 1969, 3024:
			// too many connections, server shutdown, lock wait timeout,
			// deadlock, connection killed, statement timeout (MariaDB, MySQL)
			return true
		}
	case errors.As(err, &pe):
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"):
			// connection exception, insufficient resources, shutting down
			return true
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03", pe.Code == "57014":
			// conflicts, lock_not_available, query_canceled (statement_timeout)
			return true
		}
	}
	return false
}

// insertRevocation inserts r and sets r.Seq from the database.
func (c *conn) insertRevocation(ctx context.Context, r *gatehouse.Revocation) error {
	const q = `INSERT INTO revocations (session_id, revoked_at, until) VALUES (?, ?, ?)`
	args := []any{r.SessionID, micros(r.RevokedAt), micros(r.Until)}
	if c.d.returning {
		if err := c.queryRow(ctx, q+` RETURNING seq`, args...).Scan(&r.Seq); err != nil {
			return err
		}
		return c.notifyRevocation(ctx)
	}
	res, err := c.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	r.Seq, err = res.LastInsertId()
	return err
}

// migrationLock is the name (MySQL) and key (PostgreSQL) of the lock that
// lets one process at a time migrate.
const (
	migrationLockName = "gatehouse_migrate"
	migrationLockKey  = 0x6761746568 // "gateh"
)

// lockMigrations takes the migration lock on conn and returns its release.
// SQLite needs none: every migration runs in a BEGIN IMMEDIATE transaction,
// which already lets one writer at a time in, across processes.
func (d *dialect) lockMigrations(ctx context.Context, conn *sql.Conn) (unlock func(), err error) {
	var lock, release string // lock selects 1 once it holds the lock
	var arg any
	switch d.name {
	case dialectPostgres:
		lock, release = `SELECT 1 FROM pg_advisory_lock($1)`, `SELECT pg_advisory_unlock($1)`
		arg = int64(migrationLockKey)
	case dialectMySQL:
		lock, release = `SELECT GET_LOCK(?, 120)`, `SELECT RELEASE_LOCK(?)`
		arg = migrationLockName
	default:
		return func() {}, nil
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, lock, arg).Scan(&got); err != nil {
		return nil, err
	} else if got.Int64 != 1 {
		return nil, errors.New("timed out waiting for the migration lock")
	}
	return func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), release, arg); err != nil {
			// A session lock left on a pooled connection would block the
			// next migration: throw the connection away instead.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}
