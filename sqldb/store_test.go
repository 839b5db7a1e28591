package sqldb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

// The environment variables that name the database servers to test on.
const (
	mysqlEnv    = "GATEHOUSE_TEST_MYSQL_DSN"
	postgresEnv = "GATEHOUSE_TEST_POSTGRES_DSN"
)

func TestSQLite(t *testing.T) { testStore(t, freshSQLite) }

// TestSQLiteMemory runs the suite on "sqlite::memory:", the form for tests
// elsewhere: one connection, one database per Open.
func TestSQLiteMemory(t *testing.T) {
	testStore(t, func(*testing.T) string { return "sqlite::memory:" })
}

func TestMySQL(t *testing.T) {
	dsn := testenv.DSN(t, mysqlEnv)
	testStore(t, func(t *testing.T) string { return freshServer(t, dsn) })
}

func TestPostgres(t *testing.T) {
	dsn := testenv.DSN(t, postgresEnv)
	testStore(t, func(t *testing.T) string { return freshServer(t, dsn) })
}

// freshSQLite returns the url of a new SQLite file in the test's temp dir.
func freshSQLite(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
}

// serverSlots bounds how many tests hold a database of their own on one
// server at once, so that parallel tests stay under max_connections.
var serverSlots = make(chan struct{}, 4)

// freshServer creates a uniquely named database on the server of dsn (a
// mysql:// or postgres:// url), drops it when the test ends, and returns
// dsn with that database in place of dsn's.
func freshServer(t *testing.T, dsn string) string {
	t.Helper()
	serverSlots <- struct{}{}
	t.Cleanup(func() { <-serverSlots })
	ctx := context.Background()
	admin, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "gh_test_" + hex.EncodeToString(b)
	if err := sqldb.ExecForTest(ctx, admin, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		drop := "DROP DATABASE IF EXISTS " + name
		if admin.Dialect() == "postgres" {
			drop += " WITH (FORCE)"
		}
		if err := sqldb.ExecForTest(ctx, admin, drop); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
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
