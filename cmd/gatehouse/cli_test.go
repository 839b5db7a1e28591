package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

func userHash(t *testing.T, url, username string) string {
	t.Helper()
	db, err := sqldb.Open(context.Background(), url, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.PasswordHash
}

func runCLI(t *testing.T, env func(string) string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	err := run(context.Background(), args, env, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestCLIUsers(t *testing.T) { storetest.Each(t, testCLIUsers) }

func testCLIUsers(t *testing.T, db string) {
	env := storeEnv(t, db, nil)
	if out, _, err := runCLI(t, env, "", "migrate"); err != nil || !strings.Contains(out, "migrations applied") {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	if out, _, err := runCLI(t, env, "nora's password\n", "user", "add", "Nora"); err != nil || !strings.Contains(out, "created user Nora") {
		t.Fatalf("user add: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, env, "another password\n", "user", "add", "nora"); err == nil || !strings.Contains(err.Error(), "username_taken") {
		t.Errorf("duplicate user add: %v, want username_taken", err)
	}
	if _, _, err := runCLI(t, env, "short\n", "user", "add", "oscar"); err == nil || !strings.Contains(err.Error(), "weak_password") {
		t.Errorf("weak user add: %v, want weak_password", err)
	}
	out, _, err := runCLI(t, env, "", "user", "list")
	if err != nil || !strings.Contains(out, "Nora") || strings.Contains(out, "oscar") {
		t.Errorf("user list: %q, %v", out, err)
	}

	// A user made by the CLI logs in through the server, and deleting
	// them kills the session.
	g := start(t, env)
	p := login(t, g.url, "nora", "nora's password")
	g.stop()
	if out, _, err := runCLI(t, env, "", "user", "delete", "NORA"); err != nil || !strings.Contains(out, "deleted user Nora") {
		t.Fatalf("user delete: %q, %v", out, err)
	}
	g2 := start(t, env)
	wantProblem(t, "deleted user's token", call(t, "GET", g2.url+"/api/me", p.access, nil), 401, "invalid_token")
	if _, _, err := runCLI(t, env, "", "user", "delete", "nora"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("delete missing user: %v", err)
	}
}

func TestCLIUsage(t *testing.T) {
	env := testEnv(t, nil)
	for _, args := range [][]string{{"-h"}, {"serve", "-h"}, {"migrate", "-h"}, {"user", "-h"}, {"version", "-h"}, {"hash-cost", "-h"}} {
		_, stderr, err := runCLI(t, env, "", args...)
		if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 || !strings.Contains(stderr, "usage: gatehouse") {
			t.Errorf("%v: err %v, stderr %q", args, err, stderr)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"user"}, {"user", "add"}, {"serve", "-nope"}} {
		if _, _, err := runCLI(t, env, "", args...); exitCode(err) != 2 {
			t.Errorf("%v: err %v, want a usage error (exit 2)", args, err)
		}
	}
	if out, _, err := runCLI(t, env, "", "version"); err != nil || !strings.HasPrefix(out, "gatehouse ") {
		t.Errorf("version: %q, %v", out, err)
	}
}
