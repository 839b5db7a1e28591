// Package storetest gives tests a fresh database on each store gatehouse
// supports: SQLite always, MariaDB/MySQL and PostgreSQL when
// GATEHOUSE_TEST_MYSQL_DSN / GATEHOUSE_TEST_POSTGRES_DSN name a server
// (skipped otherwise, failed under GATEHOUSE_TEST_REQUIRE_ALL=1).
package storetest

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
	MySQLEnv    = "GATEHOUSE_TEST_MYSQL_DSN"
	PostgresEnv = "GATEHOUSE_TEST_POSTGRES_DSN"
)

// Dialects are the stores, in the order tests run on them.
var Dialects = []string{"sqlite", "mysql", "postgres"}

// Each runs fn as a subtest per store, named for its dialect, with the URL
// of a database of its own that is dropped when the subtest ends.
func Each(t *testing.T, fn func(t *testing.T, url string)) {
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { fn(t, FreshURL(t, d)) })
	}
}

// FreshURL returns the URL of a new, empty database of the dialect.
func FreshURL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
	case "mysql":
		return FreshServerURL(t, testenv.DSN(t, MySQLEnv))
	case "postgres":
		return FreshServerURL(t, testenv.DSN(t, PostgresEnv))
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// serverSlots bounds how many tests hold a database of their own on one
// server at once, so that parallel tests stay under max_connections.
var serverSlots = make(chan struct{}, 4)

// FreshServerURL creates a uniquely named database on the server of dsn (a
// mysql:// or postgres:// URL), drops it when the test ends, and returns
// dsn naming that database instead.
func FreshServerURL(t testing.TB, dsn string) string {
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
	if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		drop := "DROP DATABASE IF EXISTS " + name
		if admin.Dialect() == "postgres" {
			drop += " WITH (FORCE)"
		}
		if _, err := admin.SQL().ExecContext(ctx, drop); err != nil {
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
