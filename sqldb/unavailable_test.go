package sqldb_test

import (
	"bufio"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

// TestClosedPortIsUnavailable needs no server: nothing listens on port 1.
func TestClosedPortIsUnavailable(t *testing.T) {
	for _, url := range []string{
		"postgres://postgres@127.0.0.1:1/gatehouse?sslmode=disable",
		"mysql://root@127.0.0.1:1/gatehouse",
	} {
		t.Run(url[:5], func(t *testing.T) {
			db, err := sqldb.Open(t.Context(), url, sqldb.Options{})
			if err != nil {
				t.Fatalf("Open: %v (a server that is down is reported by Ping, not Open)", err)
			}
			defer db.Close()
			wantCode(t, db.Ping(t.Context()), gatehouse.EUNAVAILABLE)
			_, err = db.UserByUsername(t.Context(), "alice")
			wantCode(t, err, gatehouse.EUNAVAILABLE)
			if msg := gatehouse.ErrorMessage(err); msg != "store unavailable" {
				t.Fatalf("client message = %q", msg)
			}
			err = db.CreateUser(t.Context(), &gatehouse.User{Username: "alice", PasswordHash: "h"})
			wantCode(t, err, gatehouse.EUNAVAILABLE)
			wantCode(t, db.Migrate(t.Context()), gatehouse.EUNAVAILABLE)
		})
	}
}

// TestReconnect kills every server connection of the store: the pool must
// drop them and connect again, and any failure in between must be
// EUNAVAILABLE, never internal.
func TestReconnect(t *testing.T) {
	for _, tc := range []struct{ env, kill string }{
		{postgresEnv, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`},
		{mysqlEnv, ""},
	} {
		t.Run(tc.env, func(t *testing.T) {
			dsn := testenv.DSN(t, tc.env)
			url := storetest.FreshServerURL(t, dsn)
			db := openStore(t, url)
			createUser(t, db, "alice")
			killer := openDB(t, url)
			if tc.kill != "" {
				if _, err := sqldb.QueryIntForTest(t.Context(), killer, tc.kill); err != nil {
					t.Fatal(err)
				}
			} else {
				killMySQLConnections(t, killer)
			}
			ok := false
			for range 20 {
				_, err := db.UserByUsername(t.Context(), "alice")
				if err == nil {
					ok = true
					break
				}
				wantCode(t, err, gatehouse.EUNAVAILABLE)
			}
			if !ok {
				t.Fatal("the store did not reconnect")
			}
		})
	}
}

func killMySQLConnections(t *testing.T, killer *sqldb.DB) {
	t.Helper()
	for {
		id, err := sqldb.QueryIntForTest(t.Context(), killer, `SELECT COALESCE(MIN(id), 0)
			FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`)
		if err != nil {
			t.Fatal(err)
		}
		if id == 0 {
			return
		}
		if err := sqldb.ExecForTest(t.Context(), killer, "KILL "+strconv.FormatInt(id, 10)); err != nil {
			t.Fatal(err)
		}
	}
}

// childEnv names the SQLite file that the child process of
// TestSQLiteCommitSurvivesKill writes to.
const childEnv = "SQLDB_TEST_KILL_CHILD_DB"

// TestSQLiteCommitSurvivesKill commits a user in a child process, kills the
// child with SIGKILL as soon as CreateUser has returned, and finds the user
// in the file: an acknowledged registration survives a crash.
func TestSQLiteCommitSurvivesKill(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		db := openStore(t, "sqlite:"+path)
		createUser(t, db, "survivor")
		os.Stdout.WriteString("committed\n")
		time.Sleep(time.Minute) // until killed
		return
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteCommitSurvivesKill$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := false
	for sc := bufio.NewScanner(out); !committed && sc.Scan(); {
		committed = sc.Text() == "committed"
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !committed {
		t.Fatal("the child process did not commit")
	}
	db := openStore(t, "sqlite:"+path)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := db.UserByUsername(ctx, "survivor"); err != nil {
		t.Fatalf("user committed before SIGKILL: %v", err)
	}
}

// TestOnError: a failure of the database itself reaches Options.OnError
// with the operation and its code; an expected answer (not found) does not.
func TestOnError(t *testing.T) {
	var got []string
	rec := func(op, code string) { got = append(got, op+":"+code) }
	down, err := sqldb.Open(t.Context(), "postgres://postgres@127.0.0.1:1/gatehouse?sslmode=disable", sqldb.Options{OnError: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_, _ = down.UserByUsername(t.Context(), "alice")
	db, err := sqldb.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "g.db"), sqldb.Options{OnError: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, _ = db.UserByUsername(t.Context(), "nobody")
	gone, cancel := context.WithCancel(t.Context())
	cancel() // a client that went away is not a failure of the store
	if _, err := db.UserByUsername(gone, "nobody"); !errors.Is(err, context.Canceled) {
		t.Fatalf("user by username with a cancelled context: %v", err)
	}
	k := &gatehouse.SigningKey{ID: "dup", Algorithm: "EdDSA", Private: []byte{1}}
	_ = db.AddSigningKey(t.Context(), k)
	_ = db.AddSigningKey(t.Context(), k)
	want := []string{"user by username:unavailable", "add signing key:internal"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("OnError calls = %q, want %q", got, want)
	}
}

// TestRefusalIsNotUnavailable: a server that answers but refuses (the
// database does not exist, its certificate does not verify, it has no TLS
// when TLS is asked for) is a configuration to fix, not an outage to wait
// out, so the error must not be EUNAVAILABLE (gatehouse would retry for
// ever). The servers of the test setup are PostgreSQL with a self-signed
// certificate and MariaDB without TLS.
func TestRefusalIsNotUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name, env, path, query string
		wrongPassword          bool
	}{
		{name: "mysql unknown database", env: mysqlEnv, path: "/gh_no_such_database"},
		{name: "mysql wrong password", env: mysqlEnv, wrongPassword: true},
		{name: "postgres unknown database", env: postgresEnv, path: "/gh_no_such_database"},
		{name: "mysql tls on a server without", env: mysqlEnv, query: "tls=true"},
		{name: "postgres untrusted certificate", env: postgresEnv, query: "sslmode=verify-full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(testenv.DSN(t, tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if tc.path != "" {
				u.Path = tc.path
			}
			if tc.query != "" {
				u.RawQuery = tc.query
			}
			if tc.wrongPassword {
				u.User = url.UserPassword(u.User.Username(), "gh-wrong-password")
			}
			db := openDB(t, u.String())
			err = db.Migrate(t.Context())
			if err == nil {
				t.Fatal("Migrate succeeded")
			}
			if c := gatehouse.ErrorCode(err); c == gatehouse.EUNAVAILABLE {
				t.Fatalf("error %v has code %s, want a configuration error", err, c)
			}
		})
	}
}
