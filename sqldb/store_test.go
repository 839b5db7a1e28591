package sqldb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

const (
	mysqlEnv    = storetest.MySQLEnv
	postgresEnv = storetest.PostgresEnv
)

func TestSQLite(t *testing.T) { testStore(t, freshSQLite) }

// TestSQLiteMemory runs the suite on "sqlite::memory:", the form for tests
// elsewhere: one connection, one database per Open.
func TestSQLiteMemory(t *testing.T) {
	testStore(t, func(*testing.T) string { return "sqlite::memory:" })
}

func TestMySQL(t *testing.T) {
	dsn := testenv.DSN(t, mysqlEnv)
	testStore(t, func(t *testing.T) string { return storetest.FreshServerURL(t, dsn) })
}

func TestPostgres(t *testing.T) {
	dsn := testenv.DSN(t, postgresEnv)
	testStore(t, func(t *testing.T) string { return storetest.FreshServerURL(t, dsn) })
}

// freshSQLite returns the url of a new SQLite file in the test's temp dir.
func freshSQLite(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
}

// openStore opens url, migrates it and closes it when the test ends.
func openStore(t testing.TB, url string) *sqldb.DB {
	t.Helper()
	db := openDB(t, url)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// openDB opens url, without migrating, and closes it when the test ends.
func openDB(t testing.TB, url string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), url, sqldb.Options{MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
