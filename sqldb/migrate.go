package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one embedded NNNN_name.sql file.
type migration struct {
	version int64
	name    string
	stmts   []string
}

// loadMigrations returns the dialect's migrations in version order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		text, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, stmts: splitStatements(string(text))})
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migration %d: two files", ms[i].version)
		}
	}
	return ms, nil
}

// Migrate applies the embedded migrations that the database has not seen,
// in order, and records each in schema_migrations. It is idempotent, and
// safe when several processes migrate one database at the same moment: on
// PostgreSQL they queue on pg_advisory_lock, on MySQL on GET_LOCK, on
// SQLite each migration is a BEGIN IMMEDIATE transaction that looks again
// at schema_migrations once it holds the write lock.
//
// On PostgreSQL and SQLite a migration and its record commit together. MySQL
// commits DDL statement by statement, so its migrations are written to be
// run again after a failure half-way.
func (db *DB) Migrate(ctx context.Context) error { return db.migrateTo(ctx, math.MaxInt64) }

// migrateTo is Migrate, stopping after the migration numbered last: the
// tests start from an older schema with it.
func (db *DB) migrateTo(ctx context.Context, last int64) error {
	ms, err := loadMigrations(db.d.name)
	if err != nil {
		return fmt.Errorf("sqldb: migrate: %w", err)
	}
	sc, err := db.sql.Conn(ctx)
	if err != nil {
		return db.wrap(ctx, "migrate", err)
	}
	defer sc.Close()
	unlock, err := db.d.lockMigrations(ctx, sc)
	if err != nil {
		return db.wrap(ctx, "migrate: lock", err)
	}
	defer unlock()
	c := &conn{q: sc, d: db.d, now: db.now()}
	_, err = c.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT       NOT NULL PRIMARY KEY,
		name       VARCHAR(255) NOT NULL,
		applied_at BIGINT       NOT NULL)`)
	if err != nil {
		return db.wrap(ctx, "migrate", err)
	}
	for _, m := range ms {
		if m.version > last {
			break
		}
		if err := db.apply(ctx, sc, m); err != nil {
			return db.wrap(ctx, fmt.Sprintf("migrate %04d_%s", m.version, m.name), err)
		}
	}
	return nil
}

// apply runs m in a transaction on conn unless schema_migrations has it.
func (db *DB) apply(ctx context.Context, sc *sql.Conn, m migration) (err error) {
	tx, err := sc.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	c := &conn{q: tx, d: db.d, now: db.now()}
	var n int
	err = c.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n)
	if err != nil || n > 0 {
		return errors.Join(err, tx.Rollback())
	}
	for _, stmt := range m.stmts {
		if _, err = tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	_, err = c.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, micros(c.now))
	if err != nil {
		return err
	}
	return tx.Commit()
}

// splitStatements cuts a migration file into statements at the semicolons
// that are outside quotes and comments, and drops the comments, since the
// drivers run one statement per call (MySQL's multiStatements is off on
// purpose). Dollar-quoted PostgreSQL bodies are not supported.
func splitStatements(text string) []string {
	var stmts []string
	var b strings.Builder
	flush := func() {
		if s := strings.TrimSpace(b.String()); s != "" {
			stmts = append(stmts, s)
		}
		b.Reset()
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			for i < len(text) && text[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				i += 2 + j + 1 // at the closing '/'
			} else {
				i = len(text)
			}
			b.WriteByte(' ')
		case c == '\'' || c == '"' || c == '`':
			end := len(text) // an unclosed quote runs to the end
			if j := strings.IndexByte(text[i+1:], c); j >= 0 {
				end = i + 1 + j + 1
			}
			b.WriteString(text[i:end])
			i = end - 1
		case c == ';':
			flush()
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return stmts
}
